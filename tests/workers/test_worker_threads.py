from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import Future
from typing import Any

import pytest

from common.jobs import JobStatus, get_job_store
from tests.support.worker_handlers import claimed_job
from workers.handler_protocol import JobContext
from workers.job_context import RunningJobContext
from workers.settings import WorkerSettings
from workers.threads import bind_thread_pool, new_job_thread_pool, start_job_task, wait_for_threads
from workers.worker import Worker


async def test_threads_started_through_the_context_are_recorded_and_waited_for() -> None:
    pool = new_job_thread_pool()
    release = threading.Event()
    threads: list[Future[Any]] = []
    ctx = RunningJobContext(claimed_job(), asyncio.get_running_loop())

    async def handler() -> None:
        await ctx.run_in_thread(release.wait, 5)
        # Other thread work of the handler is neither recorded nor waited for.
        await asyncio.to_thread(release.wait, 5)

    context = contextvars.copy_context()
    context.run(bind_thread_pool, pool)
    try:
        task = context.run(start_job_task, handler(), threads)
        await asyncio.sleep(0.05)
        task.cancel()
        assert len(threads) == 1
        # Cancelling the task does not stop its thread: the wait says so until the thread ends.
        assert await wait_for_threads(threads, 0.1) is False
        release.set()
        assert await wait_for_threads(threads, 5) is True
        assert len(threads) == 1
    finally:
        pool.shutdown(wait=True)


async def test_run_in_thread_outside_a_worker_is_an_error() -> None:
    ctx = RunningJobContext(claimed_job(), asyncio.get_running_loop())
    with pytest.raises(RuntimeError, match="no job thread pool"):
        await ctx.run_in_thread(int, "1")


async def test_a_worker_leaves_the_default_executor_alone_and_shuts_its_pool_down() -> None:
    job_threads: list[threading.Thread] = []

    async def threaded(job: Any, ctx: JobContext) -> dict[str, Any]:
        job_threads.append(await ctx.run_in_thread(threading.current_thread))
        return {}

    store = await get_job_store()
    job, _ = await store.create_job("threaded", {})
    await Worker(WorkerSettings(), {"threaded": threaded}).run(burst=True)
    done = await store.get_job(job.id)
    assert done is not None
    assert done.status is JobStatus.COMPLETED
    [job_thread] = job_threads
    assert job_thread.name.startswith("job")
    # An idle thread of a pool nobody shut down waits for work for ever.
    job_thread.join(timeout=10)
    assert not job_thread.is_alive()
    default_thread = await asyncio.to_thread(threading.current_thread)
    assert default_thread.name.startswith("asyncio")
