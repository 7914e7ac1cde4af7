"""Real worker processes on a real store: crash recovery, graceful shutdown, cancellation, many workers at once.

Slow tests run on the local store and one Turso transport over a real sqld, to stay within the time budget.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from common.jobs import Job, JobStatus, get_job_store
from tests.support.media_files import job_run_dirs, preview_run_dir
from tests.support.worker_handlers import PARTIAL_FILE, recorded_runs
from tests.support.worker_process import WorkerProcess, WorkerStarter, is_finished, wait_for_job

#: Short leases, so a killed worker's job is recovered in about a second.
FAST_LEASE = ["--lease-s", "1", "--heartbeat-s", "0.2", "--requeue-interval-s", "0.2"]
#: Only slow tests pick backends; the in-process suite covers all three.
LOCAL_AND_WS = [pytest.param("local"), pytest.param("turso-ws")]


def owner_pid(job: Job) -> int | None:
    return None if job.lease_owner is None else int(job.lease_owner.split(":")[1])


def running_under(worker: WorkerProcess, *, with_output: bool = False) -> Callable[[Job], bool]:
    def check(job: Job) -> bool:
        if job.status is not JobStatus.RUNNING or owner_pid(job) != worker.pid:
            return False
        return not with_output or (preview_run_dir(job.id, job.lease_token or "") / PARTIAL_FILE).exists()

    return check


async def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.02)


@pytest.mark.slow
@pytest.mark.parametrize("store_env", LOCAL_AND_WS, indirect=True)
async def test_a_killed_workers_job_completes_under_another_worker_exactly_once(
    store_env: str, record_dir: Path, start_worker: WorkerStarter
) -> None:
    store = await get_job_store()
    job, _ = await store.create_job("sleep", {"seconds": 1.0})
    first = start_worker(*FAST_LEASE)
    await wait_for_job(store, job.id, running_under(first, with_output=True))
    first.kill()

    second = start_worker(*FAST_LEASE)
    done = await wait_for_job(store, job.id, is_finished)
    assert done.status is JobStatus.COMPLETED, second.log()
    assert done.attempts == 2
    assert done.result == {"pid": second.pid, "attempt": 2}
    assert recorded_runs(record_dir) == {job.id: 1}
    # The completing run then removes the killed run's partial output (and its own, which its result does not name).
    await wait_until(lambda: not job_run_dirs(None, job.id))


@pytest.mark.slow
@pytest.mark.parametrize("store_env", LOCAL_AND_WS, indirect=True)
async def test_sigterm_lets_short_jobs_finish_and_releases_long_ones_to_another_worker(
    store_env: str, record_dir: Path, start_worker: WorkerStarter
) -> None:
    store = await get_job_store()
    short, _ = await store.create_job("sleep", {"seconds": 0.6})
    long, _ = await store.create_job("sleep", {"seconds": 4.0})
    first = start_worker("--concurrency", "2", "--grace-s", "1.5", *FAST_LEASE)
    await wait_for_job(store, short.id, running_under(first, with_output=True))
    await wait_for_job(store, long.id, running_under(first, with_output=True))
    first.signal(signal.SIGTERM)
    assert await asyncio.to_thread(first.wait) == 0, first.log()
    assert f"job {long.id} released" in first.log()

    finished_short = await store.get_job(short.id)
    released = await store.get_job(long.id)
    assert finished_short is not None
    assert released is not None
    assert finished_short.status is JobStatus.COMPLETED
    assert finished_short.result == {"pid": first.pid, "attempt": 1}
    # Released, not left running under a dead owner; and its partial output is gone.
    assert released.status is JobStatus.QUEUED
    assert released.lease_owner is None
    assert not job_run_dirs(None, long.id)

    second = start_worker(*FAST_LEASE)
    done = await wait_for_job(store, long.id, is_finished)
    assert done.status is JobStatus.COMPLETED, second.log()
    assert done.result == {"pid": second.pid, "attempt": 1}
    assert recorded_runs(record_dir) == {short.id: 1, long.id: 1}
    assert not await store.list_jobs(status=JobStatus.RUNNING)


@pytest.mark.slow
@pytest.mark.parametrize("store_env", [pytest.param("local"), pytest.param("turso-http")], indirect=True)
async def test_cancelling_a_running_job_stops_it_within_a_heartbeat_and_removes_its_output(
    store_env: str, record_dir: Path, start_worker: WorkerStarter
) -> None:
    heartbeat_s = 0.5
    store = await get_job_store()
    job, _ = await store.create_job("sleep", {"seconds": 60})
    worker = start_worker("--heartbeat-s", str(heartbeat_s), "--concurrency", "1")
    await wait_for_job(store, job.id, running_under(worker, with_output=True))

    cancelled_at = time.monotonic()
    cancelled = await store.cancel_job(job.id)
    assert cancelled is not None
    assert cancelled.status is JobStatus.CANCELLED
    await asyncio.to_thread(worker.wait_for_log, f"job {job.id} cancelled")
    stopped_after_s = time.monotonic() - cancelled_at
    # One heartbeat to notice, plus slack for a loaded machine: far below the 60 s the job would run.
    assert stopped_after_s < heartbeat_s + 2.0, worker.log()
    assert not job_run_dirs(None, job.id)

    # The worker's slot is free again, and the cancelled job never turns into anything else.
    follower, _ = await store.create_job("record", {})
    await wait_for_job(store, follower.id, is_finished)
    final = await store.get_job(job.id)
    assert final is not None
    assert final.status is JobStatus.CANCELLED
    assert final.result is None
    assert not job_run_dirs(None, job.id)
    assert recorded_runs(record_dir) == {follower.id: 1}


@pytest.mark.slow
async def test_a_job_whose_workers_keep_dying_ends_failed_with_worker_lost(
    record_dir: Path, start_worker: WorkerStarter
) -> None:
    store = await get_job_store()
    job, _ = await store.create_job("sleep", {"seconds": 60}, max_attempts=2)
    for _ in range(2):
        worker = start_worker(*FAST_LEASE)
        await wait_for_job(store, job.id, running_under(worker))
        worker.kill()
    survivor = start_worker(*FAST_LEASE)
    failed = await wait_for_job(store, job.id, is_finished)
    assert failed.status is JobStatus.FAILED, survivor.log()
    assert failed.error is not None
    assert failed.error.code == "worker_lost"
    assert failed.attempts == 2
    assert recorded_runs(record_dir) == {}


@pytest.mark.slow
async def test_a_second_signal_exits_at_once(start_worker: WorkerStarter) -> None:
    store = await get_job_store()
    job, _ = await store.create_job("sleep", {"seconds": 60})
    worker = start_worker("--grace-s", "60")
    await wait_for_job(store, job.id, running_under(worker))
    worker.signal(signal.SIGTERM)
    await asyncio.to_thread(worker.wait_for_log, "stopping: 1 running job(s)")
    worker.signal(signal.SIGINT)
    assert await asyncio.to_thread(worker.wait, 5.0) != 0


@pytest.mark.slow
@pytest.mark.parametrize("store_env", [pytest.param("local"), pytest.param("turso-http")], indirect=True)
async def test_four_workers_complete_5000_jobs_exactly_once(
    store_env: str, record_dir: Path, start_worker: WorkerStarter
) -> None:
    store = await get_job_store()
    created = {(await store.create_job("record", {}))[0].id for _ in range(5000)}
    workers = [start_worker("--burst", "--concurrency", "4") for _ in range(4)]
    exit_codes = await asyncio.gather(*(asyncio.to_thread(worker.wait, 120.0) for worker in workers))
    assert exit_codes == [0, 0, 0, 0], [worker.log()[-2000:] for worker in workers]

    runs = recorded_runs(record_dir)
    assert set(runs) == created
    assert set(runs.values()) == {1}
    assert await store.count_jobs() == {"record": {"completed": 5000}}
    assert sum(f"job {job_id} completed" in worker.log() for worker in workers for job_id in list(created)[:50]) == 50


@pytest.mark.slow
async def test_a_handler_thread_that_ignores_cancellation_does_not_keep_the_worker_alive(
    start_worker: WorkerStarter,
) -> None:
    store = await get_job_store()
    job, _ = await store.create_job("stubborn", {"seconds": 60})
    worker = start_worker("--burst", "--timeouts", "stubborn=0.3", "--heartbeat-s", "0.2")
    assert await asyncio.to_thread(worker.wait, 10.0) == 0, worker.log()
    assert "handler thread is still running" in worker.log()
    failed = await store.get_job(job.id)
    assert failed is not None
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert failed.error.code == "timeout"


@pytest.mark.slow
async def test_an_idle_worker_on_the_local_store_wakes_for_another_processs_commit(start_worker: WorkerStarter) -> None:
    # Looking on a timer, this worker would first look again after a minute: only the commit hint starts it sooner.
    store = await get_job_store()
    worker = start_worker("--poll-min-s", "60", "--poll-max-s", "60")
    first, _ = await store.create_job("noop", {})
    await wait_for_job(store, first.id, is_finished, timeout_s=30)
    # Long enough for the worker to find the queue empty and settle into its wait.
    await asyncio.sleep(0.5)
    second, _ = await store.create_job("noop", {})
    done = await wait_for_job(store, second.id, is_finished, timeout_s=30)
    assert done.status is JobStatus.COMPLETED, worker.log()
