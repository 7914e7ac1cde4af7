"""One deadline for all the job-store calls of a web request: ``STORE_DEADLINE_S`` (10 s by default).

A hung store would otherwise hold a request for as long as the backend keeps retrying (the libSQL client tries a
read 4 times, 30 s each). The clock starts at the request's first store call, not when the request arrives, so an
upload that takes minutes to stream still gets the whole budget for its store work. When the budget runs out the
call is abandoned and raises a transient ``StoreError`` (``store_timeout``), which the API answers 503 with
``Retry-After``.

``StoreDeadlineMiddleware`` opens a fresh budget for each request; routes reach the store through
``request_job_store()``, whose coroutine methods spend from it. Outside a request (start-up, tests calling the store
directly) there is no budget and no deadline.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

from starlette.types import ASGIApp, Receive, Scope, Send

from common.errors import StoreError
from common.jobs import JobStore, get_job_store
from web.inputs import positive_int_setting

DEFAULT_STORE_DEADLINE_S = 10


def store_deadline_s() -> int:
    return positive_int_setting("STORE_DEADLINE_S", DEFAULT_STORE_DEADLINE_S, unit="seconds")


@dataclass
class _Budget:
    deadline_s: float
    ends_at: float | None = None

    def ends_at_loop_time(self) -> float:
        if self.ends_at is None:
            self.ends_at = asyncio.get_running_loop().time() + self.deadline_s
        return self.ends_at


_request_budget: ContextVar[_Budget | None] = ContextVar("store_budget", default=None)


class StoreDeadlineMiddleware:
    def __init__(self, app: ASGIApp, deadline_s: float) -> None:
        self.app = app
        self.deadline_s = deadline_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _request_budget.set(_Budget(self.deadline_s))
        try:
            await self.app(scope, receive, send)
        finally:
            _request_budget.reset(token)


class _StoreWithDeadline:
    """The store, its coroutine methods bounded by the current request's budget; anything else passes through."""

    def __init__(self, store: JobStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute
        return _bounded(attribute)


def _bounded(method: Callable[..., Any]) -> Callable[..., Any]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        budget = _request_budget.get()
        if budget is None:
            return await method(*args, **kwargs)
        try:
            # asyncio's own timeout: on the poll path it costs a fraction of an anyio cancel scope.
            async with asyncio.timeout_at(budget.ends_at_loop_time()):
                return await method(*args, **kwargs)
        except TimeoutError as exc:
            raise StoreError(
                f"the job store did not answer within the request's {budget.deadline_s:g} s",
                code="store_timeout",
                transient=True,
            ) from exc

    return call


async def request_job_store() -> JobStore:
    """``get_job_store()`` for a route: the same store, its calls held to the request's deadline."""
    return cast(JobStore, _StoreWithDeadline(await get_job_store()))
