"""``RunningJobContext``: the worker's side of ``JobContext`` for one running job.

Handlers call it from their audio thread as well as from the event loop, so it only sets plain attributes and
hands wake-ups to the loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from enum import StrEnum
from typing import ParamSpec, TypeVar

from common.errors import JobCancelled
from common.jobs.model import Job
from workers.threads import run_in_job_thread

P = ParamSpec("P")
T = TypeVar("T")


class StopReason(StrEnum):
    #: The store refused a write under our lease: the job was cancelled through the API or passed to another worker.
    LEASE_LOST = "lease_lost"
    TIMEOUT = "timeout"
    SHUTDOWN = "shutdown"


_STOP_MESSAGES = {
    StopReason.LEASE_LOST: "the job was cancelled or passed to another worker",
    StopReason.TIMEOUT: "the job ran past its time limit",
    StopReason.SHUTDOWN: "the worker is shutting down",
}


class RunningJobContext:
    def __init__(self, job: Job, loop: asyncio.AbstractEventLoop) -> None:
        self._job = job
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._stop_reason: StopReason | None = None
        self._progress = job.progress
        self._stage: str | None = None
        self._progress_pending = False
        self._progress_changed = asyncio.Event()

    @property
    def job(self) -> Job:
        return self._job

    @property
    def stop_reason(self) -> StopReason | None:
        return self._stop_reason

    async def run_in_thread(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await run_in_job_thread(fn, *args, **kwargs)

    def report_progress(self, fraction: float) -> None:
        self._progress = min(max(float(fraction), 0.0), 1.0)
        self._wake_writer()

    def report_stage(self, stage: str) -> None:
        self._stage = stage
        self._wake_writer()

    def _wake_writer(self) -> None:
        if self._progress_pending:
            return
        self._progress_pending = True
        if threading.get_ident() == self._loop_thread:
            self._progress_changed.set()
            return
        try:
            self._loop.call_soon_threadsafe(self._progress_changed.set)
        except RuntimeError:
            # The loop is closed: the job is over and nobody is left to write progress.
            return

    def raise_if_cancelled(self) -> None:
        reason = self._stop_reason
        if reason is not None:
            raise JobCancelled(_STOP_MESSAGES[reason])

    def request_stop(self, reason: StopReason) -> bool:
        """Ask the handler to stop; the first reason wins. True when this call set it."""
        if self._stop_reason is not None:
            return False
        self._stop_reason = reason
        return True

    async def next_progress(self) -> tuple[float, str | None]:
        """Wait until the handler reports progress or a stage, then return the latest of both."""
        await self._progress_changed.wait()
        self._progress_changed.clear()
        self._progress_pending = False
        return self._progress, self._stage
