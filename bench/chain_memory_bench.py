"""Memory of every enhancement at once on a long recording, through the web and worker processes users run.

    .venv/bin/python -m bench.chain_memory_bench [--hours 3]

1. The enhancement bench's noisy, humming speech-like master (44.1 kHz mono FLAC) of ``--hours`` is generated and
   uploaded to a real ``python -m web`` process (``POST /api/audio/ingest``, streamed multipart) on a temporary local
   store and ``MEDIA_ROOT``.
2. Three jobs, each queued through the web's API and run by a fresh ``python -m workers --burst`` process: the
   ingest; an ``edit.save`` with every enhancement on (highpass, dehum, denoise, deess, level, shortenPauses) and
   timeline edits (two cuts, a region gain, fades); a ``render`` of the new version with the ``apple-podcasts``
   preset (-16 LUFS, -1 dBTP, MP3).
3. Reported per job: its worker's wall and CPU time (start-up included) and peak RSS (Linux's ``VmHWM``, read every
   0.1 s while it runs), beside the issue's limit (250 MB); and the web process's peak RSS over the whole run,
   upload included.

Wall times depend on the machine's load; RSS does not much.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench.enhance_bench import noisy_speech
from bench.export_bench import RATE, RSS_SAMPLE_S, Timing, load_average, peak_rss_bytes, run_worker
from tests.support.audio_samples import write_audio
from tests.support.web_server import WebServer, running_web_server

RSS_LIMIT_MB = 250
TERMINAL = frozenset({"completed", "failed", "cancelled"})


def every_operation(duration_s: float) -> list[dict[str, Any]]:
    """Every enhancement, with timeline edits spread over the recording."""
    return [
        {"op": "cut", "start": duration_s * 0.25, "end": duration_s * 0.26},
        {"op": "cut", "start": duration_s * 0.6, "end": duration_s * 0.61},
        {"op": "gain", "db": -3, "start": duration_s * 0.4, "end": duration_s * 0.45},
        {"op": "fadeIn", "duration": 2},
        {"op": "fadeOut", "duration": 5},
        {"op": "highpass"},
        {"op": "dehum"},
        {"op": "denoise"},
        {"op": "deess"},
        {"op": "level"},
        {"op": "shortenPauses"},
    ]


class PeakRss:
    """Samples a running process's peak RSS on a thread until stopped; the last sample in MB."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.peak_mb = 0.0

    def _sample(self) -> None:
        while not self._stop.wait(RSS_SAMPLE_S):
            try:
                self.peak_mb = max(self.peak_mb, peak_rss_bytes(self._process) / 2**20)
            except psutil.NoSuchProcess:
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


async def job_result(session: aiohttp.ClientSession, web: WebServer, job_id: str, work: Path) -> dict[str, Any]:
    """Run the queued job with a fresh burst worker; its result as the web's poll shows it, and the worker's figures."""
    log = work / f"worker-{job_id}.log"
    timing, peak_rss = await asyncio.to_thread(run_worker, log)
    async with session.get(web.url(f"/api/audio/jobs/{job_id}")) as response:
        body = await response.json()
    if body["status"] != "completed":
        raise RuntimeError(f"job {job_id} ended {body['status']}: {body['error']}\n{log.read_text(errors='replace')}")
    return {"result": body["result"], "timing": timing, "rss_mb": peak_rss / 2**20}


async def post_json(session: aiohttp.ClientSession, web: WebServer, path: str, body: dict[str, Any]) -> str:
    async with session.post(web.url(path), json=body) as response:
        answer = await response.json()
        if response.status != 202:
            raise RuntimeError(f"{path} answered {response.status}: {answer}")
    return str(answer["jobId"])


async def upload(session: aiohttp.ClientSession, web: WebServer, source: Path) -> str:
    with source.open("rb") as file:
        form = aiohttp.FormData()
        form.add_field("title", "bench")
        form.add_field("file", file, filename=source.name, content_type="audio/flac")
        async with session.post(web.url("/api/audio/ingest"), data=form) as response:
            answer = await response.json()
            if response.status != 202:
                raise RuntimeError(f"the upload was answered {response.status}: {answer}")
    return str(answer["jobId"])


async def bench(work: Path, hours: float) -> None:
    started = time.perf_counter()
    source = work / "source.flac"
    write_audio(source, noisy_speech(hours * 3600), rate=RATE, kind="flac")
    size_mb = source.stat().st_size / 2**20
    print(f"generated a {hours:g}-hour noisy, humming master ({size_mb:.0f} MB FLAC) in", end=" ")
    print(f"{time.perf_counter() - started:.0f} s; load average {load_average()}", flush=True)
    timeout = aiohttp.ClientTimeout(total=None)
    with running_web_server() as web, PeakRss(web.process.pid) as web_rss:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            upload_started = time.perf_counter()
            ingest_id = await upload(session, web, source)
            print(f"uploaded in {time.perf_counter() - upload_started:.1f} s", flush=True)
            ingest = await job_result(session, web, ingest_id, work)
            asset_id, duration_s = ingest["result"]["assetId"], float(ingest["result"]["durationSec"])
            print(f"ingest: {ingest['timing'].wall_s:.0f} s, {ingest['rss_mb']:.0f} MB", flush=True)
            edits = every_operation(duration_s)
            edit_id = await post_json(session, web, "/api/audio/edit/save", {"assetId": asset_id, "edits": edits})
            edit = await job_result(session, web, edit_id, work)
            print(f"edit.save: {edit['timing'].wall_s:.0f} s, {edit['rss_mb']:.0f} MB", flush=True)
            render_body = {"assetId": asset_id, "version": edit["result"]["version"], "format": "mp3"}
            render_id = await post_json(session, web, "/api/render", {**render_body, "preset": "apple-podcasts"})
            render = await job_result(session, web, render_id, work)
    print(f"\n{hours:g}-hour master; every job run by a fresh python -m workers --burst, queued through python -m web")
    print(f"{'':58}{'wall s':>8}{'CPU s':>8}{'peak RSS MB':>13}{'limit MB':>10}")
    jobs = (
        ("ingest (streamed upload of the FLAC)", ingest),
        ("edit.save: 6 enhancements + cuts, gain, fades", edit),
        ("render: apple-podcasts preset, MP3", render),
    )
    for name, job in jobs:
        timing: Timing = job["timing"]
        print(f"{name:58}{timing.wall_s:8.0f}{timing.cpu_s:8.0f}{job['rss_mb']:13.0f}{RSS_LIMIT_MB:10}")
    print(f"{'web process, whole run':74}{web_rss.peak_mb:13.0f}{RSS_LIMIT_MB:10}")
    result = edit["result"]
    print(f"edit.save result: {result['durationSec']:.0f} s long, {result['timeSavedSec']:.0f} s of pauses saved")
    print(f"compliance passed: {render['result']['compliance']['passed']}")
    worst = max(job["rss_mb"] for _name, job in jobs)
    verdict = "within" if worst < RSS_LIMIT_MB else "OVER"
    print(f"largest worker RSS {worst:.0f} MB: {verdict} the {RSS_LIMIT_MB} MB limit")
    print(f"load average at the end: {load_average()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=3.0, help="length of the generated master")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chain-memory-bench-") as folder:
        work = Path(folder)
        os.environ.update(
            {"JOB_STORE_BACKEND": "local", "JOB_STORE_PATH": str(work / "jobs.sqlite3"), "MEDIA_ROOT": str(work)}
        )
        asyncio.run(bench(work, args.hours))


if __name__ == "__main__":
    main()
