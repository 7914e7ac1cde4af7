"""What a job handler gets besides its job: a thread for blocking work, progress reporting and a cancellation signal.

Handlers are looked up by job type and know nothing about claiming, leases or heartbeats; this protocol is
their whole view of the worker. ``report_progress`` and ``raise_if_cancelled`` are safe to call from the thread
``run_in_thread`` runs the handler's audio work in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, Protocol, TypeVar

from common.assets import NewAssetVersion
from common.jobs.model import Job

P = ParamSpec("P")
T = TypeVar("T")


class JobContext(Protocol):
    @property
    def job(self) -> Job: ...

    async def run_in_thread(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` in a thread of the worker's job pool. When the job stops, the worker waits
        for these threads (until their next ``raise_if_cancelled``) before it removes the job's partial output;
        it does not know about threads started any other way."""

    def report_progress(self, fraction: float) -> None:
        """Record progress in 0..1. Cheap and non-blocking; the worker throttles what reaches the store."""

    def report_stage(self, stage: str) -> None:
        """Record what the job is doing now (a ``common.stages.JobStage``), shown beside its progress; each pass of
        a multi-pass job names itself. Cheap, non-blocking and safe from the job's threads, like progress."""

    def raise_if_cancelled(self) -> None:
        """Raise ``common.errors.JobCancelled`` when the job was cancelled, its lease lost, its timeout
        passed or the worker is shutting down. Call it between chunks of work."""


#: A result object for the poll body, or the asset version the job makes (recorded with its completion).
HandlerResult = dict[str, Any] | NewAssetVersion
Handler = Callable[[Job, JobContext], Awaitable[HandlerResult]]
