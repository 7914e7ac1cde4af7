"""Two hosts, no shared disk: a real ``python -m web`` and a real ``python -m workers``, each started from its own
working directory with its own ``TMPDIR`` and ``MEDIA_ROOT``, sharing nothing but a real sqld (the job store) and
a real SeaweedFS bucket (the media store). Ingest, edit + save, preview, render and download through the web (the
presigned redirect, the web streaming with ``MEDIA_S3_PROXY=1``, ``?download=1``), a cancelled render leaving no
object, the worker's scratch folder left empty, and a worker on local media refused at start. Then the same
through ``honcho start`` of the ``Procfile`` on the production variables.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import obstore
import pytest

from common.config import PROJECT_ROOT
from tests.e2e.test_honcho_end_to_end import stop_process_group
from tests.support.audio_samples import sine, write_audio
from tests.support.ports import free_port
from tests.support.processes import stop_process
from tests.support.seaweedfs import REGION, SeaweedFSServer, running_seaweedfs
from tests.support.sqld import SqldServer, running_sqld

START_TIMEOUT_S = 60.0
JOB_TIMEOUT_S = 120.0
TERMINAL = frozenset({"completed", "failed", "cancelled"})


@dataclass
class Host:
    """One machine: its own folder (working directory, TMPDIR, MEDIA_ROOT) and the process running there."""

    folder: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFSServer]:
    with running_seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def sqld(tmp_path: Path) -> Iterator[SqldServer]:
    with running_sqld(tmp_path / "sqld") as server:
        yield server


@pytest.fixture
def bucket(seaweedfs: SeaweedFSServer) -> str:
    name = "two-hosts-" + secrets.token_hex(4)
    seaweedfs.create_bucket(name)
    return name


def host_env(folder: Path, sqld: SqldServer, seaweedfs: SeaweedFSServer, bucket: str, **extra: str) -> dict[str, str]:
    """The environment of a process on its own host: only the job store URL and the bucket are shared."""
    for name in ("cwd", "tmp", "media"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("JOB_STORE", "MEDIA_", "S3_", "AWS_", "TURSO_", "WORKER_", "DEPLOY_"))
    }
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
        TMPDIR=str(folder / "tmp"),
        MEDIA_ROOT=str(folder / "media"),
        JOB_STORE_PATH=str(folder / "jobs.sqlite3"),
        DEPLOY_ENV="production",
        TURSO_DATABASE_URL=sqld.ws_url,
        S3_BUCKET=bucket,
        S3_ENDPOINT_URL=seaweedfs.endpoint_url,
        S3_REGION=REGION,
        AWS_ACCESS_KEY_ID=seaweedfs.access_key_id,
        AWS_SECRET_ACCESS_KEY=seaweedfs.secret_access_key,
        **extra,
    )
    return env


def start_host(folder: Path, module: str, env: dict[str, str]) -> Host:
    log_path = folder / f"{module}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module], cwd=folder / "cwd", env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return Host(folder, process, log_path)


def wait_for_web(host: Host, base_url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if host.process.poll() is not None:
            raise AssertionError(f"the web exited ({host.process.returncode}):\n{host.log()}")
        try:
            if httpx.get(base_url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the web did not answer within {START_TIMEOUT_S} s:\n{host.log()}")


def wait_for_log(host: Host, text: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while text not in host.log():
        assert host.process.poll() is None, f"exited ({host.process.returncode}):\n{host.log()}"
        assert time.monotonic() < deadline, f"{text!r} not logged within {START_TIMEOUT_S} s:\n{host.log()}"
        time.sleep(0.1)


@dataclass
class TwoHosts:
    web_url: str
    proxy_web_url: str
    web: Host
    worker: Host
    scratch: Path
    bucket: str


@pytest.fixture
def two_hosts(tmp_path: Path, sqld: SqldServer, seaweedfs: SeaweedFSServer, bucket: str) -> Iterator[TwoHosts]:
    hosts: list[Host] = []
    try:
        port, proxy_port = free_port(), free_port()
        web = start_host(
            tmp_path / "web-host", "web", host_env(tmp_path / "web-host", sqld, seaweedfs, bucket, PORT=str(port))
        )
        hosts.append(web)
        wait_for_web(web, f"http://127.0.0.1:{port}")
        proxy_env = host_env(tmp_path / "proxy-host", sqld, seaweedfs, bucket, PORT=str(proxy_port), MEDIA_S3_PROXY="1")
        proxy_web = start_host(tmp_path / "proxy-host", "web", proxy_env)
        hosts.append(proxy_web)
        wait_for_web(proxy_web, f"http://127.0.0.1:{proxy_port}")
        scratch = tmp_path / "worker-host" / "scratch"
        worker_env = host_env(
            tmp_path / "worker-host", sqld, seaweedfs, bucket, WORKER_SCRATCH_DIR=str(scratch), WORKER_HEARTBEAT_S="0.5"
        )
        worker = start_host(tmp_path / "worker-host", "workers", worker_env)
        hosts.append(worker)
        wait_for_log(worker, "started: store")
        yield TwoHosts(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{proxy_port}", web, worker, scratch, bucket)
    finally:
        for host in hosts:
            stop_process(host.process)


async def wait_for_job(client: httpx.AsyncClient, job_id: str, *, until: frozenset[str] = TERMINAL) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        response = await client.get(f"/api/audio/jobs/{job_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in until or body["status"] in TERMINAL:
            return body
        assert time.monotonic() < deadline, f"job {job_id} still {body['status']} after {JOB_TIMEOUT_S} s"
        await asyncio.sleep(0.05)


async def completed(client: httpx.AsyncClient, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    body = await wait_for_job(client, response.json()["jobId"])
    assert body["status"] == "completed", body
    return body


async def bucket_keys(seaweedfs: SeaweedFSServer, bucket: str, prefix: str) -> list[str]:
    listed = await obstore.list(seaweedfs.s3_store(bucket), prefix=prefix).collect_async()
    return sorted(str(meta["path"]) for meta in listed)


async def no_uploads_left(seaweedfs: SeaweedFSServer, bucket: str) -> bool:
    """True once the bucket holds no upload (waiting at most ``START_TIMEOUT_S``)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while await bucket_keys(seaweedfs, bucket, "uploads"):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


@pytest.fixture
async def client(two_hosts: TwoHosts) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=two_hosts.web_url, timeout=60) as http:
        yield http


async def test_everything_works_across_two_hosts_sharing_only_the_job_store_and_a_bucket(
    two_hosts: TwoHosts, client: httpx.AsyncClient, seaweedfs: SeaweedFSServer, tmp_path: Path
) -> None:
    health = (await client.get("/healthz")).json()
    assert health["store"]["backend"] == "turso"
    assert health["mediaStore"]["backend"] == "s3"
    assert health["mediaStore"]["storeId"] in two_hosts.worker.log()

    cut_off = b'--b\r\nContent-Disposition: form-data; name="file"; filename="talk.wav"\r\n\r\n' + b"\x01" * 300_000
    refused = await client.post(
        "/api/audio/ingest", content=cut_off, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert refused.status_code == 400, refused.text
    assert await bucket_keys(seaweedfs, two_hosts.bucket, "uploads") == []

    recording = write_audio(tmp_path / "talk.wav", sine(3.0, rate=48000, channels=1), rate=48000)
    with recording.open("rb") as upload:
        created = await client.post("/api/audio/ingest", files={"file": ("talk.wav", upload, "audio/wav")})
    ingested = await completed(client, created)
    asset_id = ingested["result"]["assetId"]
    # The worker removes the upload right after the completion the client saw.
    assert await no_uploads_left(seaweedfs, two_hosts.bucket)

    edits = [{"op": "cut", "start": 0.5, "end": 1.0}, {"op": "fadeIn", "duration": 0.2}]
    preview = await completed(
        client, await client.post("/api/audio/edit/preview", json={"assetId": asset_id, "edits": edits})
    )
    saved = await completed(
        client, await client.post("/api/audio/edit/save", json={"assetId": asset_id, "edits": edits})
    )
    assert saved["result"]["version"] == 2
    assert saved["result"]["durationSec"] == pytest.approx(2.5, abs=0.05)
    rendered = await completed(client, await client.post("/api/render", json={"assetId": asset_id, "format": "mp3"}))
    url = rendered["result"]["url"]

    redirect = await client.get(url)
    assert redirect.status_code == 307
    assert redirect.headers["location"].startswith(seaweedfs.endpoint_url)
    # Peaks are not redirected: the web streams them, gzipped.
    peaks = await client.get(saved["result"]["peaksUrl"], headers={"Accept-Encoding": "gzip"})
    assert peaks.status_code == 200
    assert peaks.headers["content-encoding"] == "gzip"
    assert peaks.json()["version"] == 2
    whole = await client.get(url, follow_redirects=True)
    assert whole.status_code == 200
    assert len(whole.content) > 1000
    part = await client.get(url, headers={"Range": "bytes=100-"}, follow_redirects=True)
    assert part.status_code == 206
    assert part.content == whole.content[100:]

    download = await client.get(url, params={"download": "1"})
    assert download.status_code == 200
    assert download.content == whole.content
    name = rendered["result"]["filename"]
    assert download.headers["content-disposition"] == f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"

    async with httpx.AsyncClient(base_url=two_hosts.proxy_web_url, timeout=60) as proxy:
        streamed = await proxy.get(url)
        assert streamed.status_code == 200
        assert streamed.content == whole.content
        ranged = await proxy.get(url, headers={"Range": "bytes=10-99"})
        assert ranged.status_code == 206
        assert ranged.headers["content-range"] == f"bytes 10-99/{len(whole.content)}"
        assert ranged.content == whole.content[10:100]
        for media_url in (preview["result"]["previewUrl"], saved["result"]["audioUrl"]):
            assert (await proxy.get(media_url)).status_code == 200
        zoomed = await proxy.get(saved["result"]["peaksUrl"], params={"samplesPerPixel": "2048"})
        assert zoomed.status_code == 200, zoomed.text
        assert zoomed.json()["samples_per_pixel"] == 2048

    assert list(two_hosts.scratch.iterdir()) == []
    for host in (two_hosts.web, two_hosts.worker):
        assert not any((host.folder / "media").iterdir()), f"{host.folder} wrote local media"


async def test_a_cancelled_render_leaves_no_object_and_no_scratch(
    two_hosts: TwoHosts, client: httpx.AsyncClient, seaweedfs: SeaweedFSServer, tmp_path: Path
) -> None:
    recording = write_audio(tmp_path / "long.wav", sine(600.0, rate=16000, channels=1), rate=16000)
    with recording.open("rb") as upload:
        created = await client.post("/api/audio/ingest", files={"file": ("long.wav", upload, "audio/wav")})
    asset_id = (await completed(client, created))["result"]["assetId"]

    created = await client.post("/api/render", json={"assetId": asset_id, "format": "mp3", "preset": "podcast"})
    assert created.status_code == 202, created.text
    job_id = created.json()["jobId"]
    running = await wait_for_job(client, job_id, until=frozenset({"running"}))
    assert running["status"] == "running", running
    assert (await client.delete(f"/api/audio/jobs/{job_id}")).status_code == 200
    wait_for_log(two_hosts.worker, f"job {job_id} cancelled")

    assert await bucket_keys(seaweedfs, two_hosts.bucket, f"renders/{job_id}") == []
    assert list(two_hosts.scratch.iterdir()) == []


async def test_a_worker_on_local_media_is_refused_beside_a_web_on_the_bucket(
    two_hosts: TwoHosts, tmp_path: Path, sqld: SqldServer, seaweedfs: SeaweedFSServer
) -> None:
    env = host_env(tmp_path / "stray-host", sqld, seaweedfs, two_hosts.bucket, MEDIA_BACKEND="local")
    stray = start_host(tmp_path / "stray-host", "workers", env)
    try:
        assert stray.process.wait(timeout=START_TIMEOUT_S) == 2
    finally:
        stop_process(stray.process)
    log = stray.log()
    assert "media_store_mismatch" in log or "is not the one" in log, log
    assert "MEDIA_BACKEND" in log


@pytest.fixture
def production_honcho(tmp_path: Path, sqld: SqldServer, seaweedfs: SeaweedFSServer, bucket: str) -> Iterator[Host]:
    """``honcho start`` of the ``Procfile`` with the production variables (``DEPLOY_ENV=production``, the job store
    URL, the bucket), from a folder of its own; its web answers at the port in ``folder / "port"``."""
    folder = tmp_path / "honcho-host"
    env = host_env(
        folder, sqld, seaweedfs, bucket, WORKER_SCRATCH_DIR=str(folder / "scratch"), WORKER_HEARTBEAT_S="0.5"
    )
    (folder / "empty.env").write_text("")
    port = free_port()
    (folder / "port").write_text(str(port))
    log_path = folder / "honcho.log"
    args = [str(Path(sys.executable).parent / "honcho"), "start", "--no-colour", "-f", str(PROJECT_ROOT / "Procfile")]
    args += ["-d", str(PROJECT_ROOT), "-e", str(folder / "empty.env"), "-p", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, cwd=folder / "cwd", env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    honcho = Host(folder, process, log_path)
    try:
        wait_for_web(honcho, f"http://127.0.0.1:{port}")
        wait_for_log(honcho, "started: store")
        yield honcho
    finally:
        stop_process_group(process)


async def test_the_procfile_runs_on_the_production_variables(production_honcho: Host, tmp_path: Path) -> None:
    folder = production_honcho.folder
    base_url = f"http://127.0.0.1:{(folder / 'port').read_text()}"
    recording = write_audio(tmp_path / "talk.wav", sine(2.0, rate=44100, channels=2), rate=44100)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        assert (await client.get("/healthz")).json()["mediaStore"]["backend"] == "s3"
        with recording.open("rb") as upload:
            created = await client.post("/api/audio/ingest", files={"file": ("talk.wav", upload, "audio/wav")})
        asset_id = (await completed(client, created))["result"]["assetId"]
        rendered = await completed(
            client, await client.post("/api/render", json={"assetId": asset_id, "format": "mp3"})
        )
        redirect = await client.get(rendered["result"]["url"])
        assert redirect.status_code == 307
        download = await client.get(rendered["result"]["url"], follow_redirects=True)
        assert download.status_code == 200
        assert len(download.content) > 1000
    assert os.listdir(folder / "scratch") == []
    assert os.listdir(folder / "media") == []
