"""Unit tests of ``JobChangeWatcher``'s bookkeeping, on a store stand-in that never reports a change by itself, so
whatever answers a wait here is the watcher's own logic (requests holding different states of one job, close)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from common.jobs import JobSnapshot, JobStatus, JobStore
from common.jobs.poll import iso_utc
from web.longpoll import JobChangeWatcher, WaitRequest

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class SilentStore:
    """Answers the watcher's reads as if nothing ever changed; counts them."""

    def __init__(self) -> None:
        self.reads = 0

    async def commit_token(self) -> int | None:
        return None

    async def get_changed_job_snapshots(self, known: Mapping[str, datetime]) -> dict[str, JobSnapshot | None]:
        self.reads += 1
        return {}


def snapshot(updated_at: datetime, progress: float = 0.0) -> JobSnapshot:
    return JobSnapshot(
        id="a" * 32,
        type="render",
        status=JobStatus.RUNNING,
        progress=progress,
        result=None,
        error=None,
        created_at=START,
        updated_at=updated_at,
    )


async def never_disconnects() -> dict[str, Any]:
    await asyncio.Event().wait()
    return {"type": "http.disconnect"}


def waiting_for(job: JobSnapshot, timeout_s: float = 30) -> WaitRequest:
    return WaitRequest(iso_utc(job.updated_at), timeout_s)


async def test_a_request_holding_a_newer_state_answers_those_waiting_on_an_older_one() -> None:
    store = SilentStore()
    watcher = JobChangeWatcher(cast(JobStore, store))
    older = snapshot(START)
    newer = replace(older, updated_at=START + timedelta(milliseconds=5), progress=0.5)
    first = asyncio.create_task(watcher.wait(older, waiting_for(older), never_disconnects))
    await asyncio.sleep(0.15)
    assert store.reads > 0
    assert not first.done()
    second = asyncio.create_task(watcher.wait(newer, waiting_for(newer), never_disconnects))
    assert await first == newer
    assert watcher.waiting == 1
    # A request that read an older state than others wait from is answered at once with the newer one.
    assert await watcher.wait(older, waiting_for(older), never_disconnects) == newer
    watcher.close()
    assert await second == newer
    assert watcher.waiting == 0


async def test_a_wait_that_times_out_answers_the_state_it_started_from() -> None:
    watcher = JobChangeWatcher(cast(JobStore, SilentStore()))
    job = snapshot(START)
    assert await watcher.wait(job, waiting_for(job, timeout_s=0.1), never_disconnects) is job
    assert watcher.waiting == 0


async def test_after_close_a_wait_answers_at_once() -> None:
    watcher = JobChangeWatcher(cast(JobStore, SilentStore()))
    watcher.close()
    job = snapshot(START)
    assert await watcher.wait(job, waiting_for(job), never_disconnects) is job
