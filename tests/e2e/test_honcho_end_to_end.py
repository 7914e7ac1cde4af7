"""End to end through ``honcho start`` and the real ``Procfile``: the web and the worker as separate processes,
one store, real audio over real HTTP. Each job is polled to ``completed`` through its own route and the jobs
endpoint, which must answer with the same body.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.config import PROJECT_ROOT
from tests.support.audio_samples import sine, write_audio
from tests.support.ports import free_port

START_TIMEOUT_S = 60.0
JOB_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


class Honcho:
    def __init__(self, process: subprocess.Popen[bytes], log_path: Path, base_url: str) -> None:
        self.process = process
        self.log_path = log_path
        self.base_url = base_url

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def honcho(tmp_path: Path) -> Iterator[Honcho]:
    """``honcho start`` of the project's Procfile, on the store and MEDIA_ROOT the test environment names."""
    port = free_port()
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    log_path = tmp_path / "honcho.log"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "WORKER_HEARTBEAT_S": "0.5",
    }
    args = [
        str(Path(sys.executable).parent / "honcho"),
        "start",
        "--no-colour",
        "-f",
        str(PROJECT_ROOT / "Procfile"),
        "-d",
        str(PROJECT_ROOT),
        "-e",
        str(empty_env_file),
        "-p",
        str(port),
    ]
    with log_path.open("wb") as log:
        # Its own process group, so the web and worker children can be stopped with it even if honcho hangs.
        process = subprocess.Popen(
            args, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = Honcho(process, log_path, f"http://127.0.0.1:{port}")
    try:
        wait_until_healthy(running)
        yield running
    finally:
        stop_process_group(process)


def wait_until_healthy(honcho: Honcho) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if honcho.process.poll() is not None:
            raise AssertionError(f"honcho exited ({honcho.process.returncode}):\n{honcho.log()}")
        try:
            if (
                httpx.get(honcho.base_url + "/healthz", timeout=2).status_code == 200
                and "started: store" in honcho.log()
            ):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"web and worker did not come up within {START_TIMEOUT_S} s:\n{honcho.log()}")


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_TIMEOUT_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


async def poll_until_completed(client: httpx.AsyncClient, own_route: str, job_id: str) -> dict[str, Any]:
    """Poll the job's own route until it is terminal; then the jobs endpoint must give the same body."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        response = await client.get(f"{own_route}/{job_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] in {"completed", "failed", "cancelled"}:
            break
        assert time.monotonic() < deadline, f"job {job_id} still {body['status']} after {JOB_TIMEOUT_S} s"
        await asyncio.sleep(0.1)
    assert body["status"] == "completed", body
    assert body["progress"] == 1.0
    from_jobs_endpoint = await client.get(f"/api/audio/jobs/{job_id}")
    assert from_jobs_endpoint.status_code == 200
    assert from_jobs_endpoint.json() == body
    return body


def worker_store_id(log: str) -> str:
    match = re.search(r"worker \S+ started: store backend=\S+ location=\S+ store_id=(\w+)", log)
    assert match is not None, log
    return match.group(1)


@pytest.mark.parametrize("store_env", [pytest.param("local"), pytest.param("turso-ws")], indirect=True)
async def test_ingest_edit_preview_save_and_render_complete_through_honcho(
    store_env: str, honcho: Honcho, tmp_path: Path
) -> None:
    recording = write_audio(tmp_path / "talk.wav", sine(3.0, rate=48000, channels=1), rate=48000)
    async with httpx.AsyncClient(base_url=honcho.base_url, timeout=30) as client:
        health = (await client.get("/healthz")).json()
        assert health["store"]["storeId"] == worker_store_id(honcho.log())

        with recording.open("rb") as upload:
            created = await client.post(
                "/api/audio/ingest", files={"file": ("talk.wav", upload, "audio/wav")}, data={"title": "Talk"}
            )
        assert created.status_code == 202, created.text
        ingested = await poll_until_completed(client, "/api/audio/ingest", created.json()["jobId"])
        asset_id = ingested["result"]["assetId"]
        assert ingested["result"]["version"] == 1
        assert ingested["result"]["channels"] == 1

        edits = [{"op": "cut", "start": 0.5, "end": 1.0}, {"op": "fadeIn", "duration": 0.2}]
        created = await client.post("/api/audio/edit/preview", json={"assetId": asset_id, "edits": edits})
        assert created.status_code == 202, created.text
        preview = await poll_until_completed(client, "/api/audio/edit/preview", created.json()["jobId"])
        assert (await client.get(preview["result"]["previewUrl"])).status_code == 200

        created = await client.post("/api/audio/edit/save", json={"assetId": asset_id, "edits": edits})
        assert created.status_code == 202, created.text
        saved = await poll_until_completed(client, "/api/audio/edit/save", created.json()["jobId"])
        assert saved["result"]["version"] == 2
        assert saved["result"]["durationSec"] == pytest.approx(2.5, abs=0.05)

        created = await client.post("/api/render", json={"assetId": asset_id, "format": "mp3"})
        assert created.status_code == 202, created.text
        rendered = await poll_until_completed(client, "/api/render", created.json()["jobId"])
        assert rendered["result"]["version"] == 2
        download = await client.get(rendered["result"]["url"])
        assert download.status_code == 200
        assert len(download.content) > 1000

    log = honcho.log()
    for body in (ingested, preview, saved, rendered):
        assert f"job {body['jobId']} completed type={body['type']}" in log
