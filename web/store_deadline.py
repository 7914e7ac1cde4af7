"""One deadline for all the job-store calls of a web request: ``STORE_DEADLINE_S`` (10 s by default).

A hung store would otherwise hold a request for as long as the backend keeps retrying (the libSQL client tries a
read 4 times, 30 s each). The clock starts at the request's first store call, not when the request arrives, so an
upload that takes minutes to stream still gets the whole budget for its store work. When the budget runs out the
call is abandoned and raises a transient ``StoreError`` (``store_timeout``), which the API answers 503 with
``Retry-After``.

The local store has no deadline (``deadline_applies``): its reads run on the event loop, where nothing could
abandon them, and its writes give up by themselves once SQLite's busy timeout has run out a few times
(``common.jobs.local``). Leaving the middleware and the proxy out there saves a few percent of every poll.

``StoreDeadlineMiddleware`` opens a fresh budget for each request; routes reach the store through
``request_job_store()``, whose coroutine methods spend from it. The media store's account reaches it through
``media_account_job_store()``, whose calls each get a deadline of their own. Outside a request (start-up, tests
calling the store directly) there is no budget and no deadline.

The deadlines are enforced by one ``StoreCallWatchdog`` per app that looks at the calls in flight every
``WATCHDOG_INTERVAL_S``, rather than by a timer per call: a poll makes one store call, and arming and cancelling a
timer for it cost more than the rest of the deadline's bookkeeping together. A call may so overrun its deadline
by up to that interval.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast

from starlette.types import ASGIApp, Receive, Scope, Send

from common.errors import StoreError
from common.jobs import JobStore, get_job_store
from web.inputs import positive_int_setting

DEFAULT_STORE_DEADLINE_S = 10
WATCHDOG_INTERVAL_S = 0.25


def store_deadline_s() -> int:
    return positive_int_setting("STORE_DEADLINE_S", DEFAULT_STORE_DEADLINE_S, unit="seconds")


def deadline_applies(backend: str) -> bool:
    """Whether the job store ``backend`` gets a request deadline: every one that can hang a request on a server."""
    return backend != "local"


@dataclass(eq=False)
class _WatchedCall:
    task: asyncio.Task[Any]
    ends_at: float
    #: The task's cancellation count when the call began, to tell our cancellation from anyone else's.
    cancelling: int
    expired: bool = False


class StoreCallWatchdog:
    """Cancels store calls that outlive their request's deadline; runs only while calls are in flight."""

    def __init__(self) -> None:
        self.calls: set[_WatchedCall] = set()
        self.check: asyncio.TimerHandle | None = None

    def watch(self, ends_at: float) -> _WatchedCall:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a store call with a deadline must run in a task")
        call = _WatchedCall(task, ends_at, task.cancelling())
        self.calls.add(call)
        if self.check is None:
            self.check = asyncio.get_running_loop().call_later(WATCHDOG_INTERVAL_S, self._cancel_overdue)
        return call

    def unwatch(self, call: _WatchedCall) -> None:
        self.calls.discard(call)

    def _cancel_overdue(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for call in self.calls:
            if not call.expired and call.ends_at <= now:
                call.expired = True
                call.task.cancel()
        self.check = loop.call_later(WATCHDOG_INTERVAL_S, self._cancel_overdue) if self.calls else None


@dataclass
class _Budget:
    deadline_s: float
    watchdog: StoreCallWatchdog
    ends_at: float | None = field(default=None)

    def started_ends_at(self) -> float:
        if self.ends_at is None:
            self.ends_at = asyncio.get_running_loop().time() + self.deadline_s
        return self.ends_at


_request_budget: ContextVar[_Budget | None] = ContextVar("store_budget", default=None)


class StoreDeadlineMiddleware:
    def __init__(self, app: ASGIApp, deadline_s: float) -> None:
        self.app = app
        self.deadline_s = deadline_s
        self.watchdog = StoreCallWatchdog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _request_budget.set(_Budget(self.deadline_s, self.watchdog))
        try:
            await self.app(scope, receive, send)
        finally:
            _request_budget.reset(token)


class _StoreWithDeadline:
    """The store, its coroutine methods bounded by the current request's budget (with ``per_call``, each call by a
    budget of its own, as long as the request's); anything else passes through."""

    def __init__(self, store: JobStore, *, per_call: bool = False) -> None:
        self._store = store
        self._per_call = per_call

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute
        bounded = _bounded(attribute, per_call=self._per_call)
        # Kept on the instance, so the next lookup of this method skips __getattr__.
        setattr(self, name, bounded)
        return bounded


def _bounded(method: Callable[..., Any], *, per_call: bool) -> Callable[..., Any]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        budget = _request_budget.get()
        if budget is None:
            return await method(*args, **kwargs)
        if per_call:
            budget = _Budget(budget.deadline_s, budget.watchdog)
        watched = budget.watchdog.watch(budget.started_ends_at())
        try:
            return await method(*args, **kwargs)
        except asyncio.CancelledError:
            if watched.expired and watched.task.uncancel() <= watched.cancelling:
                raise StoreError(
                    f"the job store did not answer within the request's {budget.deadline_s:g} s",
                    code="store_timeout",
                    transient=True,
                ) from None
            raise
        finally:
            budget.watchdog.unwatch(watched)

    return call


class _StoreProxies:
    """One deadline-bound proxy per store object, so its bound methods are built once, not on every request."""

    def __init__(self, *, per_call: bool = False) -> None:
        self.per_call = per_call
        self.store: JobStore | None = None
        self.proxy: JobStore | None = None

    def for_store(self, store: JobStore) -> JobStore:
        if self.store is not store or self.proxy is None:
            self.store = store
            self.proxy = (
                cast(JobStore, _StoreWithDeadline(store, per_call=self.per_call))
                if deadline_applies(store.backend)
                else store
            )
        return self.proxy


_proxies = _StoreProxies()
_per_call_proxies = _StoreProxies(per_call=True)


async def request_job_store() -> JobStore:
    """``get_job_store()`` for a route: the same store, its calls held to the request's deadline (if it has one)."""
    return _proxies.for_store(await get_job_store())


async def media_account_job_store() -> JobStore:
    """``get_job_store()`` for the media store's account (``common.media_store.usage``) in a request: each call gets
    ``STORE_DEADLINE_S`` of its own. An upload's reservations come before and during its stream, so they must
    neither start the request's budget (which would run out while the body streams) nor go unbounded."""
    return _per_call_proxies.for_store(await get_job_store())
