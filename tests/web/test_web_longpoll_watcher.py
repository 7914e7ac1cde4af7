"""Unit tests of ``JobChangeWatcher``'s bookkeeping, on store stand-ins: one that never reports a change by itself,
so whatever answers a wait is the watcher's own logic (requests holding different states of one job, close), and
one holding jobs in a dict that records how each tick asked for them (by id or by time)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from common.jobs import JobSnapshot, JobStatus, JobStore
from common.jobs.poll import iso_utc
from web import longpoll
from web.longpoll import JobChangeWatcher, WaitRequest

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class SilentStore:
    """Answers the watcher's reads as if nothing ever changed; counts them."""

    def __init__(self) -> None:
        self.reads = 0

    async def commit_token(self) -> int | None:
        return None

    async def newest_job_update(self) -> datetime | None:
        return START

    async def get_changed_job_snapshots(
        self, known: Mapping[str, datetime], since: datetime | None = None
    ) -> dict[str, JobSnapshot | None]:
        self.reads += 1
        return {}


class DictStore:
    """Answers like ``get_changed_job_snapshots`` over the jobs in ``jobs``; records each read's ids and time."""

    def __init__(self, *jobs: JobSnapshot) -> None:
        self.jobs = {job.id: job for job in jobs}
        self.reads: list[tuple[set[str], datetime | None]] = []
        self.read = asyncio.Event()

    async def commit_token(self) -> int | None:
        return None

    async def newest_job_update(self) -> datetime | None:
        return max(job.updated_at for job in self.jobs.values())

    async def get_changed_job_snapshots(
        self, known: Mapping[str, datetime], since: datetime | None = None
    ) -> dict[str, JobSnapshot | None]:
        self.reads.append((set(known), since))
        self.read.set()
        changed: dict[str, JobSnapshot | None] = {
            job_id: self.jobs.get(job_id)
            for job_id, updated_at in known.items()
            if job_id not in self.jobs or self.jobs[job_id].updated_at != updated_at
        }
        if since is not None:
            changed.update({job.id: job for job in self.jobs.values() if job.updated_at > since})
        return changed


def snapshot(updated_at: datetime, progress: float = 0.0, job_id: str = "a" * 32) -> JobSnapshot:
    return JobSnapshot(
        id=job_id,
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


async def reads_after(store: DictStore, count: int) -> None:
    while len(store.reads) < count:
        store.read.clear()
        await store.read.wait()


async def test_after_its_first_check_a_job_is_found_by_time_not_named_by_id() -> None:
    job = snapshot(START)
    # Another job changed since: the look by time starts from the store's newest change, not the job's own.
    newest = START + timedelta(seconds=10)
    store = DictStore(job, snapshot(newest, job_id="b" * 32))
    watcher = JobChangeWatcher(cast(JobStore, store))
    waiting = asyncio.create_task(watcher.wait(job, waiting_for(job), never_disconnects))
    await reads_after(store, 2)
    assert not waiting.done()
    changed = replace(job, updated_at=START + timedelta(seconds=20), progress=0.5)
    store.jobs[job.id] = changed
    assert await waiting == changed
    first, *later = store.reads
    assert first == ({job.id}, newest - longpoll.SINCE_MARGIN)
    assert later
    assert all(known == set() for known, _ in later)
    watcher.close()


async def test_a_job_found_by_time_in_a_state_its_waiters_hold_does_not_answer_them() -> None:
    job = snapshot(START)
    store = DictStore(job)
    watcher = JobChangeWatcher(cast(JobStore, store))
    # Within the margin the same state comes back on every tick.
    waiting = asyncio.create_task(watcher.wait(job, waiting_for(job, timeout_s=0.5), never_disconnects))
    assert await waiting is job
    assert len(store.reads) > 1


async def test_what_the_look_by_time_misses_the_full_check_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(longpoll, "FULL_CHECK_S", 0.3)
    job = snapshot(START)
    other = snapshot(START + timedelta(seconds=10), job_id="b" * 32)
    deleted = snapshot(START, job_id="c" * 32)
    store = DictStore(job, other, deleted)
    watcher = JobChangeWatcher(cast(JobStore, store))
    waiting = asyncio.create_task(watcher.wait(job, waiting_for(job), never_disconnects))
    waiting_on_deleted = asyncio.create_task(watcher.wait(deleted, waiting_for(deleted), never_disconnects))
    watching_other = asyncio.create_task(watcher.wait(other, waiting_for(other), never_disconnects))
    await reads_after(store, 2)
    # Stamped far behind the newest change seen (a clock set back), and a job deleted: no look by time shows them.
    changed = replace(job, updated_at=START + timedelta(seconds=1), progress=0.5)
    store.jobs[job.id] = changed
    del store.jobs[deleted.id]
    assert await waiting == changed
    assert await waiting_on_deleted is None
    assert not watching_other.done()
    assert any(known == {job.id, other.id, deleted.id} for known, _ in store.reads[1:])
    watcher.close()
    assert await watching_other is other


async def test_the_state_a_wait_was_answered_with_is_kept_while_it_is_the_newest() -> None:
    job = snapshot(START)
    store = DictStore(job)
    watcher = JobChangeWatcher(cast(JobStore, store))
    waiting = asyncio.create_task(watcher.wait(job, waiting_for(job), never_disconnects))
    await reads_after(store, 1)
    assert watcher.answered_state(job.id, iso_utc(job.updated_at)) is None
    progressed = replace(job, updated_at=START + timedelta(seconds=1), progress=0.5)
    store.jobs[job.id] = progressed
    assert await waiting == progressed
    assert watcher.answered_state(job.id, iso_utc(progressed.updated_at)) == progressed
    assert watcher.answered_state(job.id, iso_utc(job.updated_at)) is None
    # A later change the ticks read replaces it, though nobody waits on the job: an older state is never handed out.
    finished = replace(progressed, updated_at=START + timedelta(seconds=2), status=JobStatus.COMPLETED, progress=1.0)
    store.jobs[job.id] = finished
    reads = len(store.reads)
    await reads_after(store, reads + 2)
    assert watcher.answered_state(job.id, iso_utc(progressed.updated_at)) is None
    assert watcher.answered_state(job.id, iso_utc(finished.updated_at)) == finished
    watcher.close()
    assert watcher.answered_state(job.id, iso_utc(finished.updated_at)) is None


async def test_a_wait_from_an_answered_state_is_checked_by_id_at_the_next_tick() -> None:
    job = snapshot(START)
    store = DictStore(job)
    watcher = JobChangeWatcher(cast(JobStore, store))
    waiting = asyncio.create_task(watcher.wait(job, waiting_for(job), never_disconnects))
    await reads_after(store, 1)
    progressed = replace(job, updated_at=START + timedelta(seconds=20), progress=0.5)
    store.jobs[job.id] = progressed
    assert await waiting == progressed
    # Another job's later change moves the look by time past what the job's next change will be stamped with.
    store.jobs["b" * 32] = snapshot(START + timedelta(seconds=30), job_id="b" * 32)
    await reads_after(store, len(store.reads) + 2)
    behind = replace(progressed, updated_at=START + timedelta(seconds=25), progress=0.75)
    store.jobs[job.id] = behind
    kept = watcher.answered_state(job.id, iso_utc(progressed.updated_at))
    assert kept == progressed
    reads = len(store.reads)
    assert await watcher.wait(progressed, waiting_for(progressed), never_disconnects) == behind
    assert any(job.id in known for known, _ in store.reads[reads:])
    watcher.close()


async def test_answered_states_are_forgotten_after_their_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(longpoll, "ANSWERED_KEEP_S", 0.2)
    job = snapshot(START)
    store = DictStore(job)
    watcher = JobChangeWatcher(cast(JobStore, store))
    waiting = asyncio.create_task(watcher.wait(job, waiting_for(job), never_disconnects))
    await reads_after(store, 1)
    progressed = replace(job, updated_at=START + timedelta(seconds=1), progress=0.5)
    store.jobs[job.id] = progressed
    assert await waiting == progressed
    assert watcher.answered_state(job.id, iso_utc(progressed.updated_at)) == progressed
    await asyncio.sleep(0.5)
    assert watcher.answered_state(job.id, iso_utc(progressed.updated_at)) is None
    watcher.close()


class CommitReportingStore(DictStore):
    """A ``DictStore`` with a commit signal that reports commits as they happen (as the local store does): ``commit``
    changes a job, moves the token and calls the listeners. Counts the token reads."""

    def __init__(self, *jobs: JobSnapshot) -> None:
        super().__init__(*jobs)
        self.token = 0
        self.token_reads = 0
        self.listeners: list[Callable[[], None]] = []
        #: Set when a listener is added.
        self.watched = asyncio.Event()

    async def commit_token(self) -> int | None:
        self.token_reads += 1
        return self.token

    def watch_commits(self, on_commit: Callable[[], None]) -> Callable[[], None] | None:
        self.listeners.append(on_commit)
        self.watched.set()
        return lambda: self.listeners.remove(on_commit)

    def commit(self, job: JobSnapshot) -> None:
        self.jobs[job.id] = job
        self.token += 1
        for on_commit in list(self.listeners):
            on_commit()


async def test_with_commits_reported_the_watcher_sleeps_until_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing but a commit or a new wait may end the sleep here.
    monkeypatch.setattr(longpoll, "FULL_CHECK_S", 60.0)
    monkeypatch.setattr(longpoll, "ANSWERED_KEEP_S", 60.0)
    job = snapshot(START)
    store = CommitReportingStore(job)
    watcher = JobChangeWatcher(cast(JobStore, store))
    waiting = asyncio.create_task(watcher.wait(job, waiting_for(job), never_disconnects))
    await reads_after(store, 1)
    await asyncio.wait_for(store.watched.wait(), 5)
    token_reads = store.token_reads
    # Ticking would read the token about 12 times here; a sleep until a commit, never.
    await asyncio.sleep(0.5)
    assert store.token_reads == token_reads
    assert store.listeners
    progressed = replace(job, updated_at=START + timedelta(seconds=1), progress=0.5)
    store.commit(progressed)
    assert await asyncio.wait_for(waiting, 5) == progressed
    # A wait that begins while the watcher sleeps wakes it: the new watch's job is read by id.
    other = snapshot(START, job_id="b" * 32)
    store.jobs[other.id] = other
    await asyncio.sleep(0.2)
    reads = len(store.reads)
    other_waiting = asyncio.create_task(watcher.wait(other, waiting_for(other), never_disconnects))
    await asyncio.wait_for(reads_after(store, reads + 1), 5)
    assert other.id in store.reads[reads][0]
    watcher.close()
    assert await other_waiting is other
    await asyncio.sleep(0.05)
    assert not store.listeners
