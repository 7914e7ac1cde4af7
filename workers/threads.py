"""Which threads a job's handler started, so the worker can wait for them before it removes partial output.

Handlers run their audio work with ``asyncio.to_thread``. Cancelling the handler's task does not stop such a
thread: it runs on until its next ``ctx.raise_if_cancelled()``. The worker installs ``JobThreadPool`` as the
loop's default executor; ``submit`` runs in the submitting task's context, where a context variable names the
job's list of thread futures.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_THREAD_CHECK_S = 0.02

_job_threads: contextvars.ContextVar[list[Future[Any]] | None] = contextvars.ContextVar("job_threads", default=None)


class JobThreadPool(ThreadPoolExecutor):
    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future = super().submit(fn, *args, **kwargs)
        threads = _job_threads.get()
        if threads is not None:
            threads[:] = [pending for pending in threads if not pending.done()]
            threads.append(future)
        return future


def start_job_task(coro: Coroutine[Any, Any, T], threads: list[Future[Any]]) -> asyncio.Task[T]:
    """Run ``coro`` as a task whose thread work is recorded in ``threads``."""
    context = contextvars.copy_context()
    context.run(_job_threads.set, threads)
    return asyncio.get_running_loop().create_task(coro, context=context)


async def wait_for_threads(threads: list[Future[Any]], timeout_s: float) -> bool:
    """Wait until the recorded threads end; False when some are still running after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not all(future.done() for future in threads):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(_THREAD_CHECK_S)
    return True
