"""The worker's pool for handler threads, and which of its threads each job started.

A handler runs its blocking audio work with ``await ctx.run_in_thread(fn, ...)``: the work goes to the pool the
worker bound to the job's task (``bind_thread_pool``) and its future is recorded in the job's list
(``start_job_task``). Cancelling the handler's task does not stop such a thread: it runs on until its next
``ctx.raise_if_cancelled()``, so the worker waits for the recorded threads before it removes partial output.
Other ``asyncio.to_thread`` calls keep the loop's default executor and are neither recorded nor waited for.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_THREAD_CHECK_S = 0.02

_thread_pool: ContextVar[ThreadPoolExecutor | None] = ContextVar("job_thread_pool", default=None)
_job_threads: ContextVar[list[Future[Any]] | None] = ContextVar("job_threads", default=None)


def new_job_thread_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(thread_name_prefix="job")


def bind_thread_pool(pool: ThreadPoolExecutor) -> None:
    """Make ``pool`` the one ``run_in_job_thread`` uses in the current context (and the tasks it starts)."""
    _thread_pool.set(pool)


def start_job_task(coro: Coroutine[Any, Any, T], threads: list[Future[Any]]) -> asyncio.Task[T]:
    """Run ``coro`` as a task whose ``run_in_job_thread`` calls are recorded in ``threads``."""
    context = contextvars.copy_context()
    context.run(_job_threads.set, threads)
    return asyncio.get_running_loop().create_task(coro, context=context)


async def run_in_job_thread(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` on the bound job thread pool, recorded for the job whose task calls it."""
    pool = _thread_pool.get()
    if pool is None:
        raise RuntimeError("run_in_job_thread was called outside a worker: no job thread pool is bound")
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    future: Future[T] = pool.submit(call)
    threads = _job_threads.get()
    if threads is not None:
        threads[:] = [pending for pending in threads if not pending.done()]
        threads.append(future)
    return await asyncio.wrap_future(future)


async def wait_for_threads(threads: list[Future[Any]], timeout_s: float) -> bool:
    """Wait until the recorded threads end; False when some are still running after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not all(future.done() for future in threads):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(_THREAD_CHECK_S)
    return True
