from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from typing import Any

from workers.threads import JobThreadPool, start_job_task, wait_for_threads


async def test_threads_started_by_a_job_task_are_recorded_and_waited_for() -> None:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(JobThreadPool())
    release = threading.Event()
    threads: list[Future[Any]] = []
    untracked = asyncio.create_task(asyncio.to_thread(release.wait, 5))

    async def handler() -> None:
        await asyncio.to_thread(release.wait, 5)

    task = start_job_task(handler(), threads)
    await asyncio.sleep(0.05)
    task.cancel()
    assert len(threads) == 1
    # Cancelling the task does not stop its thread: the wait says so until the thread ends.
    assert await wait_for_threads(threads, 0.1) is False
    release.set()
    assert await wait_for_threads(threads, 5) is True
    await untracked
    assert len(threads) == 1
