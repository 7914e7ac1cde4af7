"""How each way a handler can end is recorded in the store: a worker run in this process on each real backend."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from common.errors import StoreError
from common.jobs import JobStatus, Settlement, get_job_store
from tests.support.media_files import job_run_dirs
from tests.support.worker_handlers import HANDLERS, recorded_runs
from tests.support.worker_process import is_finished, wait_for_job
from workers.failures import INTERNAL_ERROR_MESSAGE
from workers.settings import WorkerSettings
from workers.worker import Worker

SETTINGS = WorkerSettings(retry_base_s=0.05, retry_max_s=0.1, heartbeat_s=0.1, lease_s=5)


async def drain(settings: WorkerSettings = SETTINGS) -> None:
    await asyncio.wait_for(Worker(settings, HANDLERS).run(burst=True), timeout=30)


async def test_completed_jobs_carry_the_handler_result(store_env: str, record_dir: Path) -> None:
    store = await get_job_store()
    jobs = [(await store.create_job("record", {}))[0] for _ in range(10)]
    await drain()
    for job in jobs:
        done = await store.get_job(job.id)
        assert done is not None
        assert done.status is JobStatus.COMPLETED
        assert done.result is not None
        assert done.progress == 1.0
    assert recorded_runs(record_dir) == {job.id: 1 for job in jobs}


async def test_transient_errors_retry_with_back_off_then_succeed(store_env: str, record_dir: Path) -> None:
    store = await get_job_store()
    job, _ = await store.create_job("fail_transient", {"failures": 2}, max_attempts=5)
    worker = Worker(SETTINGS, HANDLERS)
    task = asyncio.create_task(worker.run())
    try:
        current = await wait_for_job(store, job.id, is_finished)
    finally:
        worker.stop()
        await task
    assert current.status is JobStatus.COMPLETED
    assert current.attempts == 3
    assert current.result == {"attempt": 3}
    assert recorded_runs(record_dir) == {job.id: 1}


async def test_transient_errors_fail_when_attempts_run_out(store_env: str) -> None:
    store = await get_job_store()
    job, _ = await store.create_job("fail_disk", {}, max_attempts=2)
    settings = replace(SETTINGS, retry_base_s=0.01, retry_max_s=0.01)
    for _ in range(3):
        await drain(settings)
        await asyncio.sleep(0.05)
    failed = await store.get_job(job.id)
    assert failed is not None
    assert failed.status is JobStatus.FAILED
    assert failed.attempts == 2
    assert failed.error is not None
    assert failed.error.code == "storage_full"
    assert "/secret/path" not in failed.error.message


@pytest.mark.parametrize(
    ("job_type", "code", "message"),
    [
        ("fail_permanent", "unsupported_media", "the upload is not audio"),
        ("crash", "internal_error", INTERNAL_ERROR_MESSAGE),
    ],
)
async def test_permanent_errors_fail_at_once_with_their_code(
    store_env: str, job_type: str, code: str, message: str
) -> None:
    store = await get_job_store()
    job, _ = await store.create_job(job_type, {}, max_attempts=3)
    await drain()
    failed = await store.get_job(job.id)
    assert failed is not None
    assert failed.status is JobStatus.FAILED
    assert failed.attempts == 1
    assert failed.error is not None
    assert (failed.error.code, failed.error.message) == (code, message)


async def test_a_job_past_its_timeout_fails_with_timeout(store_env: str, record_dir: Path) -> None:
    store = await get_job_store()
    blocking, _ = await store.create_job("sleep", {"seconds": 30})
    asynchronous, _ = await store.create_job("async_sleep", {"seconds": 30})
    settings = replace(SETTINGS, timeouts="sleep=0.3,async_sleep=0.3")
    await drain(settings)
    for job in (blocking, asynchronous):
        failed = await store.get_job(job.id)
        assert failed is not None
        assert failed.status is JobStatus.FAILED
        assert failed.error is not None
        assert failed.error.code == "timeout"
    assert not job_run_dirs(None, blocking.id)
    assert recorded_runs(record_dir) == {}


async def test_progress_reaches_the_store_while_the_job_runs(store_env: str) -> None:
    store = await get_job_store()
    job, _ = await store.create_job("sleep", {"seconds": 1.0})
    settings = replace(SETTINGS, progress_first_s=0.1, progress_interval_s=0.2)
    task = asyncio.create_task(Worker(settings, HANDLERS).run(burst=True))
    seen: list[float] = []
    while not task.done():
        current = await store.get_job(job.id)
        assert current is not None
        if current.status is JobStatus.RUNNING:
            seen.append(current.progress)
        await asyncio.sleep(0.1)
    await task
    assert any(0.0 < value < 1.0 for value in seen), seen
    assert seen == sorted(seen)


async def progress_seen_while_running(settings: WorkerSettings, seconds: float) -> list[float]:
    """Run a ``sleep`` job of ``seconds`` (reporting progress all along) with ``settings``; the progress the store
    showed each time it was read while the job ran."""
    store = await get_job_store()
    job, _ = await store.create_job("sleep", {"seconds": seconds})
    task = asyncio.create_task(Worker(settings, HANDLERS).run(burst=True))
    seen: list[float] = []
    while not task.done():
        current = await store.get_job(job.id)
        assert current is not None
        if current.status is JobStatus.RUNNING:
            seen.append(current.progress)
        await asyncio.sleep(0.05)
    await task
    return seen


async def test_no_progress_is_written_before_the_first_write_is_due() -> None:
    seen = await progress_seen_while_running(replace(SETTINGS, progress_first_s=30), 0.5)
    # The claim wrote 0; the job ended before its first progress write was due, so nothing else was written.
    assert seen
    assert set(seen) == {0.0}


async def test_after_the_first_progress_write_the_next_waits_a_whole_interval() -> None:
    seen = await progress_seen_while_running(replace(SETTINGS, progress_first_s=0.2, progress_interval_s=30), 1.2)
    # One write, about 0.2 s in (a sixth of the job); the job ended long before the next one was due.
    written = sorted(set(seen) - {0.0})
    assert len(written) == 1, seen
    assert 0.1 < written[0] < 0.5, seen


async def test_a_job_whose_earlier_runs_were_lost_fails_with_worker_lost(store_env: str) -> None:
    store = await get_job_store()
    job, _ = await store.create_job("record", {}, max_attempts=1)
    claimed = await store.claim_next_job("a worker about to die", lease_s=0.05)
    assert claimed is not None
    assert claimed.id == job.id
    await asyncio.sleep(0.1)
    await drain()
    failed = await store.get_job(job.id)
    assert failed is not None
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert failed.error.code == "worker_lost"


async def test_heartbeats_keep_a_job_longer_than_its_lease_with_its_first_worker(
    store_env: str, record_dir: Path
) -> None:
    store = await get_job_store()
    job, _ = await store.create_job("sleep", {"seconds": 1.5})
    settings = replace(SETTINGS, lease_s=0.5, heartbeat_s=0.1, requeue_interval_s=0.1)
    await drain(settings)
    done = await store.get_job(job.id)
    assert done is not None
    assert done.status is JobStatus.COMPLETED
    assert done.attempts == 1
    assert recorded_runs(record_dir) == {job.id: 1}


async def test_finished_jobs_are_pruned_after_the_retention_period(store_env: str) -> None:
    store = await get_job_store()
    old, _ = await store.create_job("record", {})
    await drain()
    await asyncio.sleep(0.3)
    fresh, _ = await store.create_job("record", {})
    # 0.2 s of retention: the old job finished over 0.3 s ago, the fresh one finishes during this run.
    await drain(replace(SETTINGS, retention_days=0.2 / 86400))
    assert await store.get_job(old.id) is None
    kept = await store.get_job(fresh.id)
    assert kept is not None
    assert kept.status is JobStatus.COMPLETED


async def test_a_final_write_that_fails_transiently_is_retried(
    record_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await get_job_store()
    job, _ = await store.create_job("record", {})
    real_settle = store.settle_jobs
    calls: list[list[str]] = []

    async def settle_after_a_dropped_connection(settlements: Sequence[Settlement]) -> list[bool]:
        calls.append([settlement.job_id for settlement in settlements])
        if len(calls) == 1:
            raise StoreError("connection dropped", transient=True)
        return await real_settle(settlements)

    monkeypatch.setattr(store, "settle_jobs", settle_after_a_dropped_connection)
    await drain()
    done = await store.get_job(job.id)
    assert done is not None
    assert done.status is JobStatus.COMPLETED
    assert calls == [[job.id], [job.id]]
    assert recorded_runs(record_dir) == {job.id: 1}
