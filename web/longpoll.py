"""Long-polling: a poll that waits for the job to change instead of answering at once.

``GET <poll route>?waitForChange=<updatedAt>&timeout=<s>`` answers at once when the job's ``updatedAt`` differs
from the one given (or the job has ended: it never changes again), otherwise as soon as it changes, otherwise
after ``timeout`` seconds (default 25, at most 30), always with the ordinary poll body.

The change is made by a worker, possibly on another host, so it is seen through the store. One ``JobChangeWatcher``
per web process checks every waiting request together, in one read a tick (``get_changed_job_snapshots``): the jobs
updated since the newest change it has seen (at first the store's newest, ``newest_job_update``; an index on
``updated_at`` finds them, so a tick costs what changed, not how many wait), plus, by id, the jobs of requests that
started waiting since the last tick. Every ``FULL_CHECK_S`` all the jobs waited on are read by id, which also finds
what a look by time cannot (a deleted job, a change stamped behind the newest one by more than ``SINCE_MARGIN``).
Everyone waiting on one job shares one watch. When the store has a commit signal (the local store's
``PRAGMA data_version``) the read is skipped while nothing at all was committed, and when it also reports commits
as they happen (``watch_commits``: the local store's inotify watch on its WAL file) a tick that found nothing
committed is followed by a sleep until something may have been, so idle waiters cost nothing between commits. A
client that goes away frees its waiter at once; at shutdown every waiter is answered with what it last saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from starlette.requests import Request
from starlette.types import Receive

from common.errors import StoreError
from common.jobs import JobSnapshot, JobStore
from common.jobs.poll import iso_utc
from web.disconnect import client_gone
from web.errors import ApiError

logger = logging.getLogger(__name__)

WAIT_FOR_CHANGE_PARAMETER = "waitForChange"
TIMEOUT_PARAMETER = "timeout"
QUERY_PARAMETERS = (WAIT_FOR_CHANGE_PARAMETER, TIMEOUT_PARAMETER)
DEFAULT_TIMEOUT_S = 25.0
MAX_TIMEOUT_S = 30.0
#: How often waiters are checked. With a commit signal a tick that finds nothing committed costs no read, so it
#: can be short; without one (sqld) every tick is a round trip to the server.
TICK_WITH_COMMIT_SIGNAL_S = 0.04
TICK_WITHOUT_COMMIT_SIGNAL_S = 0.1
#: How far before the newest change seen each tick looks again. Writes are serialised and stamped with the
#: database's clock, so later commits carry later stamps, except that two writes to one job in one millisecond
#: stamp it a millisecond ahead and a clock may be set back a little.
SINCE_MARGIN = timedelta(milliseconds=20)
#: How often every job waited on is read by id all the same: what the look by time misses waits at most this long.
FULL_CHECK_S = 5.0
#: How long the state a job's waiters were answered with is kept, kept current by the ticks' reads: the next
#: long-poll of each of them names that state, and waits from it without a read of its own.
ANSWERED_KEEP_S = 2.0
_UPDATED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")

#: The query parameters as the OpenAPI document declares them on every poll route.
OPENAPI_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": WAIT_FOR_CHANGE_PARAMETER,
        "in": "query",
        "description": "The `updatedAt` of the poll body the client has: the answer waits until the job's differs",
        "schema": {"type": "string", "pattern": f"^{_UPDATED_AT.pattern}$"},
    },
    {
        "name": TIMEOUT_PARAMETER,
        "in": "query",
        "description": f"Seconds to wait at most (default {DEFAULT_TIMEOUT_S:g}); "
        f"without `{WAIT_FOR_CHANGE_PARAMETER}` it has no effect",
        "schema": {"type": "number", "minimum": 0, "maximum": MAX_TIMEOUT_S},
    },
]


@dataclass(frozen=True, slots=True)
class WaitRequest:
    updated_at: str
    timeout_s: float


def wait_request(request: Request) -> WaitRequest | None:
    """The long-poll parameters of a poll request (``None``: a plain poll). Bad values are a 400."""
    if not request.scope.get("query_string"):
        return None
    query = request.query_params
    updated_at = query.get(WAIT_FOR_CHANGE_PARAMETER)
    raw_timeout = query.get(TIMEOUT_PARAMETER)
    if updated_at is None:
        # Checked all the same, but alone it changes nothing: there is no change to wait for.
        if raw_timeout is not None:
            _timeout_s(raw_timeout)
        return None
    if not _UPDATED_AT.fullmatch(updated_at):
        raise ApiError(
            400,
            "invalid_parameter",
            f"{WAIT_FOR_CHANGE_PARAMETER} must be the updatedAt of a poll body, e.g. 2026-11-29T13:08:42.123Z",
            field=WAIT_FOR_CHANGE_PARAMETER,
        )
    return WaitRequest(updated_at, DEFAULT_TIMEOUT_S if raw_timeout is None else _timeout_s(raw_timeout))


def _timeout_s(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value <= MAX_TIMEOUT_S:  # also refuses NaN
        raise ApiError(
            400,
            "invalid_parameter",
            f"{TIMEOUT_PARAMETER} must be a number of seconds from 0 to {MAX_TIMEOUT_S:g}",
            field=TIMEOUT_PARAMETER,
        )
    return value


@dataclass(eq=False, slots=True)
class _JobWatch:
    """Everyone waiting on one job: they all hold the same ``updatedAt`` and are answered together."""

    snapshot: JobSnapshot
    changed: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    waiters: int = 0
    #: The answer: the job once it changed (``None``: deleted); until then the snapshot they started from.
    latest: JobSnapshot | None = None

    def answer(self, latest: JobSnapshot | None) -> None:
        self.latest = latest
        if not self.changed.done():
            self.changed.set_result(None)


class JobChangeWatcher:
    """Answers long-polls for one web process. ``wait`` is what a poll route awaits; ``close`` answers everyone."""

    def __init__(self, store: JobStore) -> None:
        self._store = store
        self._watches: dict[str, _JobWatch] = {}
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        #: Jobs whose watch began since the last read: they are read by id once, whatever the commit signal says.
        self._new: set[str] = set()
        #: The newest ``updated_at`` seen (at first the store's newest): each tick reads the jobs updated after it
        #: (less ``SINCE_MARGIN``).
        self._newest: datetime | None = None
        #: Job id -> the state its waiters were last answered with (or a newer one a tick read since) and when it
        #: was answered, oldest first.
        self._answered: dict[str, tuple[JobSnapshot, float]] = {}
        #: Set while the loop sleeps until a commit, to wake it: by the store's commit report or a new watch.
        self._wake = asyncio.Event()

    @property
    def waiting(self) -> int:
        return sum(watch.waiters for watch in self._watches.values())

    def answered_state(self, job_id: str, updated_at: str) -> JobSnapshot | None:
        """The job as this watcher last answered its waiters, if that is the state ``updated_at`` names and it is
        still the newest one the ticks have read: a long-poll can wait from it without reading the job. It is
        as good as a read: a change it has missed (committed since the last tick, or hidden from the look by time)
        is found by the next tick, which reads every new wait's job by id."""
        entry = self._answered.get(job_id)
        if entry is None or self._closing or iso_utc(entry[0].updated_at) != updated_at:
            return None
        return entry[0]

    async def wait(self, snapshot: JobSnapshot, wait: WaitRequest, receive: Receive) -> JobSnapshot | None:
        """The job's snapshot once its ``updatedAt`` differs from ``wait.updated_at``, or when the time is up,
        the client went away or the process stops (then the newest snapshot seen). ``None``: the job was deleted."""
        if self._closing or snapshot.status.is_terminal or iso_utc(snapshot.updated_at) != wait.updated_at:
            return snapshot
        watch = self._watch_for(snapshot)
        if watch is None:
            return self._watches[snapshot.id].snapshot
        watch.waiters += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._watch_loop(), name="job-change-watcher")
        # One future ends the wait, whichever comes first: the change, the timeout or the client leaving. Plain
        # callbacks rather than a task per outcome and ``asyncio.wait``: every long-poll pays for this.
        loop = asyncio.get_running_loop()
        ended = loop.create_future()

        def end(_: object = None) -> None:
            if not ended.done():
                ended.set_result(None)

        watch.changed.add_done_callback(end)
        timer = loop.call_later(wait.timeout_s, end)
        disconnected = asyncio.ensure_future(client_gone(receive))
        disconnected.add_done_callback(end)
        try:
            await ended
        finally:
            timer.cancel()
            disconnected.remove_done_callback(end)
            disconnected.cancel()
            watch.changed.remove_done_callback(end)
            watch.waiters -= 1
            if watch.waiters == 0 and self._watches.get(snapshot.id) is watch:
                del self._watches[snapshot.id]
                self._new.discard(snapshot.id)
        return watch.latest if watch.changed.done() else watch.snapshot

    def _watch_for(self, snapshot: JobSnapshot) -> _JobWatch | None:
        """The watch to join for ``snapshot``; ``None`` when others already hold a newer state of the job."""
        watch = self._watches.get(snapshot.id)
        if watch is not None and watch.snapshot.updated_at == snapshot.updated_at:
            return watch
        if watch is not None:
            if watch.snapshot.updated_at > snapshot.updated_at:
                return None
            # This request read a newer state than the others wait from: they are answered with it.
            watch.answer(snapshot)
        watch = _JobWatch(snapshot)
        self._watches[snapshot.id] = watch
        self._new.add(snapshot.id)
        self._wake.set()
        return watch

    async def _watch_loop(self) -> None:
        """Runs while anyone waits: one commit-signal check and at most one read per tick. Where the store reports
        commits (``watch_commits``), a tick that found nothing committed is followed by a sleep until something
        may have been, instead of the next tick."""
        loop = asyncio.get_running_loop()
        token: int | None = None
        tick_s = TICK_WITH_COMMIT_SIGNAL_S
        full_check_at = loop.time() + FULL_CHECK_S
        idle = False
        # Runs on while answered states are kept, so that they stay current.
        while (self._watches or self._answered) and not self._closing:
            # After a read the next one waits a tick all the same: commits that come quickly are read in batches.
            if not (idle and await self._until_commit(token, self._idle_deadline(full_check_at))):
                await asyncio.sleep(tick_s)
            self._forget_answered(loop.time() - ANSWERED_KEEP_S)
            full_check = loop.time() >= full_check_at
            by_id, self._new = (set(self._watches) if full_check else self._new), set()
            try:
                # Read before the snapshots: a commit landing in between is caught by the next tick.
                current = await self._store.commit_token()
                tick_s = TICK_WITHOUT_COMMIT_SIGNAL_S if current is None else TICK_WITH_COMMIT_SIGNAL_S
                idle = current is not None and current == token and not by_id
                if idle:
                    continue
                if self._newest is None:
                    # Once per process, read before the jobs by id: whatever changes after them is stamped later.
                    self._newest = await self._store.newest_job_update()
                watches = self._watches
                known = {job_id: watches[job_id].snapshot.updated_at for job_id in by_id if job_id in watches}
                since = None if self._newest is None else self._newest - SINCE_MARGIN
                changed = await self._store.get_changed_job_snapshots(known, since)
            except StoreError as exc:
                self._new |= by_id
                idle = False
                logger.warning("long-poll check failed, will retry: %s", exc.message)
                continue
            token = current
            if full_check:
                full_check_at = loop.time() + FULL_CHECK_S
            self._answer(changed, loop.time())
        self._answered.clear()

    def _idle_deadline(self, full_check_at: float) -> float:
        """When a sleep until a commit must end all the same: the full check is due, or the oldest answered state
        is to be forgotten."""
        if not self._answered:
            return full_check_at
        return min(full_check_at, next(iter(self._answered.values()))[1] + ANSWERED_KEEP_S)

    async def _until_commit(self, token: int | None, deadline: float) -> bool:
        """Sleep until something may have been committed since ``token``, a new watch began or ``deadline`` (event
        loop time) came. ``False`` at once when the store cannot report commits: the caller ticks instead."""
        wake = self._wake
        wake.clear()
        stop_watching = self._store.watch_commits(wake.set)
        if stop_watching is None:
            return False
        try:
            # A commit made just before the watch began may go unreported: the token says whether there was one.
            if self._new or await self._store.commit_token() != token:
                return True
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(deadline):
                    await wake.wait()
        except StoreError:
            pass  # The check that follows reads the token again, and reports the failure.
        finally:
            stop_watching()
        return True

    def _answer(self, changed: dict[str, JobSnapshot | None], now: float) -> None:
        # The watches as they are now, not as they were when the read began: one that began while the store was
        # being read is answered too if the read found a newer state than the one it holds.
        watches, answered = self._watches, self._answered
        for job_id, latest in changed.items():
            if latest is None:
                answered.pop(job_id, None)
            else:
                if self._newest is None or latest.updated_at > self._newest:
                    self._newest = latest.updated_at
                kept = answered.get(job_id)
                if kept is not None and latest.updated_at > kept[0].updated_at:
                    answered[job_id] = (latest, kept[1])
            watch = watches.get(job_id)
            # The look by time also brings jobs nobody here waits on, and states a watch has already seen (or, read
            # while its request was reading, older ones): ``updated_at`` only moves forward.
            if watch is None or (latest is not None and latest.updated_at <= watch.snapshot.updated_at):
                continue
            watch.answer(latest)
            if latest is not None:
                answered.pop(job_id, None)
                answered[job_id] = (latest, now)
            del watches[job_id]

    def _forget_answered(self, before: float) -> None:
        answered = self._answered
        while answered:
            job_id, (_, answered_at) = next(iter(answered.items()))
            if answered_at >= before:
                return
            del answered[job_id]

    def close(self) -> None:
        """Answer every waiter now with what it last saw, and every later long-poll at once."""
        if self._closing:
            return
        self._closing = True
        self._answered.clear()
        count = self.waiting
        for watch in self._watches.values():
            watch.answer(watch.snapshot)
        if count:
            logger.info("shutting down: answered %d waiting long-poll request(s)", count)
        if self._task is not None:
            self._task.cancel()


@contextmanager
def answer_waiters_on_exit_signals(watcher: JobChangeWatcher) -> Iterator[None]:
    """While in the block, SIGTERM and SIGINT first answer every waiter, then reach the handler that was there
    before (uvicorn's, which starts the shutdown). Uvicorn waits for open requests before the app's lifespan
    ends, so without this a shutdown would wait for every long-poll's timeout."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    exit_signals = (signal.SIGTERM, signal.SIGINT)
    previous: dict[int, Any] = {signum: signal.getsignal(signum) for signum in exit_signals}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(watcher.close)
        handler = previous[signum]
        if callable(handler):
            handler(signum, frame)
        else:
            signal.signal(signum, handler)
            signal.raise_signal(signum)

    for exit_signal in exit_signals:
        signal.signal(exit_signal, on_signal)
    try:
        yield
    finally:
        for exit_signal in exit_signals:
            signal.signal(exit_signal, previous[exit_signal])
