"""What a job handler gets besides its job: progress reporting and a cancellation signal.

Handlers are looked up by job type and know nothing about claiming, leases or heartbeats; this protocol is
their whole view of the worker. Both methods are safe to call from the thread a handler runs its audio work in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from common.assets import NewAssetVersion
from common.jobs.model import Job


class JobContext(Protocol):
    @property
    def job(self) -> Job: ...

    def report_progress(self, fraction: float) -> None:
        """Record progress in 0..1. Cheap and non-blocking; the worker throttles what reaches the store."""

    def raise_if_cancelled(self) -> None:
        """Raise ``common.errors.JobCancelled`` when the job was cancelled, its lease lost, its timeout
        passed or the worker is shutting down. Call it between chunks of work."""


#: A result object for the poll body, or the asset version the job makes (recorded with its completion).
HandlerResult = dict[str, Any] | NewAssetVersion
Handler = Callable[[Job, JobContext], Awaitable[HandlerResult]]
