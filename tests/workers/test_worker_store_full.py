"""A store that refuses writes because it is full (SQLite's ``SQLITE_FULL``, made real with ``PRAGMA
max_page_count`` on the store's own writer connections): the worker keeps retrying its final write while its lease
lasts, and a job whose lease ran out goes back to the queue, never staying ``running``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest

from common.jobs import Job, JobStatus, JobStore, get_job_store
from tests.support.worker_process import TEST_HANDLERS, is_finished, wait_for_job
from workers.dispatch import load_handlers
from workers.settings import WorkerSettings
from workers.worker import Worker

#: SQLite's default limit, which is to say none.
NO_PAGE_LIMIT = 1073741823
#: Far more than the pages the store has free: the completion has to grow the file.
RESULT_BYTES = 400_000


async def limit_pages(store: JobStore, pages: int | None) -> None:
    """``None``: no more pages than the file has now, so any write that grows it fails with SQLITE_FULL."""
    if pages is None:
        ((pages,),) = await store._execute("PRAGMA page_count", {})  # type: ignore[attr-defined]
    await store._execute(f"PRAGMA max_page_count = {pages}", {})  # type: ignore[attr-defined]
    # The limit is per connection, and claims and settles have one of their own (``local.DIRECT_WRITES``).
    store._direct_writer.execute(f"PRAGMA max_page_count = {pages}")  # type: ignore[attr-defined]


@pytest.fixture
async def worker(request: pytest.FixtureRequest) -> AsyncIterator[Worker]:
    settings = WorkerSettings(handlers=TEST_HANDLERS, heartbeat_s=0.1, requeue_interval_s=0.2, **request.param)
    running = Worker(settings, load_handlers(TEST_HANDLERS))
    task = asyncio.create_task(running.run())
    yield running
    running.stop()
    await asyncio.wait_for(task, 30)


async def wait_for_log(caplog: pytest.LogCaptureFixture, text: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in caplog.text:
        assert time.monotonic() < deadline, f"no {text!r} in the log:\n{caplog.text}"
        await asyncio.sleep(0.02)


def running(job: Job) -> bool:
    return job.status is JobStatus.RUNNING


@pytest.mark.parametrize("worker", [{"lease_s": 10.0}], indirect=True)
async def test_a_completion_refused_by_a_full_store_is_retried_until_space_is_freed(
    worker: Worker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    store = await get_job_store()
    job, _ = await store.create_job("large_result", {"seconds": 0.3, "bytes": RESULT_BYTES})
    await wait_for_job(store, job.id, running)
    await limit_pages(store, None)
    await wait_for_log(caplog, f"job {job.id}: store write failed, retrying")
    assert (await store.get_job(job.id)).status is JobStatus.RUNNING  # type: ignore[union-attr]
    await limit_pages(store, NO_PAGE_LIMIT)

    done = await wait_for_job(store, job.id, is_finished)
    assert done.status is JobStatus.COMPLETED
    assert done.attempts == 1
    assert done.result == {"blob": "x" * RESULT_BYTES, "attempt": 1}


@pytest.mark.parametrize("worker", [{"lease_s": 1.0}], indirect=True)
async def test_a_job_whose_lease_ran_out_while_the_store_was_full_runs_again(
    worker: Worker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    store = await get_job_store()
    job, _ = await store.create_job("large_result", {"seconds": 0.2, "bytes": RESULT_BYTES}, max_attempts=5)
    await wait_for_job(store, job.id, running)
    await limit_pages(store, None)
    await wait_for_log(caplog, f"job {job.id}: store write failed, the lease will lapse")
    # The lease lapsed, so the store's expiry takes the job back from the run that could not finish it.
    await wait_for_job(store, job.id, lambda current: current.attempts >= 2 or current.status is JobStatus.QUEUED)
    await limit_pages(store, NO_PAGE_LIMIT)

    done = await wait_for_job(store, job.id, is_finished)
    assert done.status is JobStatus.COMPLETED
    assert done.attempts >= 2
    assert not await store.list_jobs(status=JobStatus.RUNNING)
