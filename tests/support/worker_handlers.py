"""Job handlers for tests and benchmarks that run real worker processes: ``--handlers tests.support.worker_handlers``.

Each completed run is appended to ``runs-<pid>.txt`` under ``$WORKER_TEST_RECORD_DIR`` (one line: job id, attempt,
pid), so a test can prove every job completed exactly once across processes. A run is recorded only when its
handler finishes, so a run killed midway leaves no line.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import media
from common.assets import NewAssetVersion
from common.errors import MediaError, StoreError
from common.ids import new_id
from common.jobs.model import Job, JobStatus
from common.media import preview_run_prefix
from common.media_store import get_media_store
from tests.support.media_files import asset_run_dir, media_url, preview_run_dir
from workers.handler_protocol import Handler, JobContext
from workers.payloads import run_token
from workers.scratch import scratch_folder

RECORD_DIR_VARIABLE = "WORKER_TEST_RECORD_DIR"
PARTIAL_FILE = "partial.bin"


def claimed_job(job_type: str = "noop", payload: dict[str, Any] | None = None) -> Job:
    """A job record as ``claim_next_job`` hands it out, for unit tests that need no store."""
    now = datetime.now(UTC)
    return Job(
        id=new_id(),
        type=job_type,
        status=JobStatus.RUNNING,
        payload=payload or {},
        result=None,
        error=None,
        progress=0.0,
        attempts=1,
        max_attempts=3,
        created_at=now,
        updated_at=now,
        run_after=now,
        lease_token=new_id(),
    )


def record_run(job: Job) -> None:
    folder = os.environ.get(RECORD_DIR_VARIABLE)
    if not folder:
        return
    line = f"{job.id} {job.attempts} {os.getpid()}\n"
    with open(Path(folder) / f"runs-{os.getpid()}.txt", "a", encoding="utf-8") as runs:
        runs.write(line)
        runs.flush()


def recorded_runs(folder: Path) -> Counter[str]:
    """How many completed runs each job id has, over every process that recorded into ``folder``."""
    counts: Counter[str] = Counter()
    for path in folder.glob("runs-*.txt"):
        for line in path.read_text(encoding="utf-8").splitlines():
            counts[line.split()[0]] += 1
    return counts


async def noop(job: Job, ctx: JobContext) -> dict[str, Any]:
    return {}


async def record(job: Job, ctx: JobContext) -> dict[str, Any]:
    record_run(job)
    return {"pid": os.getpid()}


def _work(job: Job, ctx: JobContext, seconds: float, folder: Path | None = None) -> None:
    """Blocking work in chunks: writes partial output (in the run's preview folder unless told otherwise), reports
    progress, and stops when cancelled."""
    folder = folder or preview_run_dir(job.id, job.lease_token or "")
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + seconds
    with open(folder / PARTIAL_FILE, "ab") as partial:
        partial.write(b"x")
        while time.monotonic() < deadline:
            ctx.raise_if_cancelled()
            partial.write(b"x" * 1024)
            partial.flush()
            ctx.report_progress(1.0 - max(deadline - time.monotonic(), 0.0) / seconds)
            time.sleep(0.01)


async def sleep(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Payload ``{"seconds": s}``: blocking work in a thread for that long, then a recorded run."""
    await ctx.run_in_thread(_work, job, ctx, float(job.payload.get("seconds", 1.0)))
    record_run(job)
    return {"pid": os.getpid(), "attempt": job.attempts}


async def publish(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Payload ``{"seconds": [s1, s2, ...]}``: attempt n works for the n-th time (the last one for later attempts)
    in its own run folder, then names the file it wrote in its result."""
    durations = [float(value) for value in job.payload.get("seconds", [0.0])]
    seconds = durations[min(job.attempts, len(durations)) - 1]
    await asyncio.to_thread(_work, job, ctx, seconds)
    record_run(job)
    return {"url": media_url(preview_run_dir(job.id, job.lease_token or "") / PARTIAL_FILE), "pid": os.getpid()}


async def publish_version(job: Job, ctx: JobContext) -> NewAssetVersion:
    """``publish`` for a job that makes a version of the payload's ``assetId``: the file goes into the run's asset
    folder and is recorded as the version's audio and peaks."""
    asset_id = str(job.payload["assetId"])
    durations = [float(value) for value in job.payload.get("seconds", [0.0])]
    folder = asset_run_dir(asset_id, job.id, job.lease_token or "")
    await asyncio.to_thread(_work, job, ctx, durations[min(job.attempts, len(durations)) - 1], folder)
    record_run(job)
    url = media_url(folder / PARTIAL_FILE)
    loudness = {"integratedLufs": None, "loudnessRangeLu": None, "truePeakDbtp": None, "rmsDb": None}
    info = {"durationSec": 1.0, "sampleRate": 8000, "channels": 1, "format": "raw", "codec": "raw", "frames": 8000}
    return NewAssetVersion(asset_id, {**info, "loudness": loudness, "audioUrl": url, "peaksUrl": url, "title": ""})


async def large_result(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Payload ``{"seconds": s, "bytes": n}``: works for s seconds, then returns a result of about n bytes."""
    await asyncio.to_thread(_work, job, ctx, float(job.payload.get("seconds", 0.0)))
    record_run(job)
    return {"blob": "x" * int(job.payload.get("bytes", 0)), "attempt": job.attempts}


async def async_sleep(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Sleeps on the event loop and never checks for cancellation: only the worker can stop it."""
    await asyncio.sleep(float(job.payload.get("seconds", 1.0)))
    record_run(job)
    return {}


async def stubborn(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Blocks a thread for ``seconds`` and never checks for cancellation: the worker must not wait for it."""
    await ctx.run_in_thread(time.sleep, float(job.payload.get("seconds", 30.0)))
    record_run(job)
    return {}


async def fail_transient(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Payload ``{"failures": n}``: the first n attempts fail with a transient store error, then it succeeds."""
    if job.attempts <= int(job.payload.get("failures", 1)):
        raise StoreError("the store connection dropped", transient=True)
    record_run(job)
    return {"attempt": job.attempts}


async def fail_disk(job: Job, ctx: JobContext) -> dict[str, Any]:
    raise OSError(28, "No space left on device", "/secret/path")


async def store_outputs(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Payload ``{"sizes": [n1, n2, ...]}``: writes files of those sizes in its scratch folder and stores each under
    its run's preview prefix through the media store, in order; the result names the last one."""
    key = ""
    async with scratch_folder(job.id) as folder:
        for index, size in enumerate(int(value) for value in job.payload.get("sizes", [])):
            path = folder / f"out-{index}.bin"
            await asyncio.to_thread(path.write_bytes, os.urandom(size))
            key = f"{preview_run_prefix(job.id, run_token(job))}/{path.name}"
            await (await get_media_store()).put_file(key, path, consume=True)
    record_run(job)
    return {"url": media.media_url(key), "attempt": job.attempts}


async def fail_permanent(job: Job, ctx: JobContext) -> dict[str, Any]:
    raise MediaError("the upload is not audio")


async def crash(job: Job, ctx: JobContext) -> dict[str, Any]:
    raise RuntimeError("secret internal detail")


HANDLERS: dict[str, Handler] = {
    "noop": noop,
    "record": record,
    "sleep": sleep,
    "publish": publish,
    "publish_version": publish_version,
    "large_result": large_result,
    "async_sleep": async_sleep,
    "stubborn": stubborn,
    "fail_transient": fail_transient,
    "fail_disk": fail_disk,
    "fail_permanent": fail_permanent,
    "store_outputs": store_outputs,
    "crash": crash,
}
