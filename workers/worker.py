"""The worker loop: claim as many jobs as there are free slots, run each as a ``JobRun``, stop gracefully.

``await Worker(settings, handlers).run()`` runs until SIGTERM/SIGINT (with ``handle_signals``) or ``stop()``;
``run(burst=True)`` drains what is runnable now and returns.

Batching: one ``claim_jobs`` statement takes up to the number of free slots (``concurrency`` minus the runs whose
handler has not ended), and the runs' final writes go through one ``Settler`` (group commit: the settlements of
runs that end while a group is being written go together in the next one, each fenced by its own lease). A slot is
free again as soon as its handler (and its threads) ended, so the next claim overlaps the previous group's settle; on
a server store (sqld, Turso) the claim rides in the same request as that group (``Settler.claim``).

Idle cost: on the local store ``commit_token()`` (SQLite's ``data_version``, read without a thread hand-off) says
whether anything was committed, and ``watch_commits()`` (inotify on the WAL file) wakes the worker when a commit may
have landed, so an idle worker sleeps in ``epoll`` until then, reads that cheap value and claims only when it moved
(or at least every ``poll_max_s``, for retries and delayed jobs whose time comes without a commit). Without the hint
it reads the value every ``poll_min_s``. Without either signal (Turso, sqld) the poll interval doubles from
``poll_min_s`` up to ``poll_max_s`` while nothing is found, which bounds the pickup delay of an idle worker there.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Mapping, Sequence

from common.errors import ConfigurationError, StoreError
from common.jobs import Job, JobStore, get_job_store
from common.media_cleanup import expire_previews, remove_jobs_files
from common.media_store import MediaStoreError, get_media_store
from workers.dispatch import bind_handlers
from workers.handler_protocol import Handler
from workers.job_context import StopReason
from workers.job_runner import JobRun
from workers.settings import WorkerSettings
from workers.settler import Settler
from workers.threads import bind_thread_pool, new_job_thread_pool

logger = logging.getLogger(__name__)

PRUNE_INTERVAL_S = 3600.0
#: A store that refuses claims is asked again once a second: soon enough to resume quickly, seldom enough to keep
#: the log readable.
CLAIM_ERROR_DELAY_S = 1.0


class Worker:
    def __init__(
        self, settings: WorkerSettings, handlers: Mapping[str, Handler], *, handle_signals: bool = False
    ) -> None:
        if not handlers:
            # An empty table would claim jobs of every type only to fail them all.
            raise ConfigurationError("a worker needs a handler for at least one job type")
        self.settings = settings
        self.handlers = dict(handlers)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.handle_signals = handle_signals
        #: False when a handler thread outlived its job; the process must then exit without waiting for it.
        self.threads_ended = True
        self._runs: set[JobRun] = set()
        #: Runs whose handler has not ended yet: what ``concurrency`` limits (``JobRun.release_slot``).
        self._busy_slots = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._signals_received = 0
        self._next_prune = 0.0
        #: Where the tasks of this worker's jobs run: ``run`` binds its handler table and job thread pool here.
        self._job_context = contextvars.Context()

    def stop(self) -> None:
        """Stop claiming; running jobs get ``grace_s`` to finish, then go back to the queue."""
        self._stopping.set()
        self._wake.set()

    async def run(self, *, burst: bool | None = None) -> None:
        burst = self.settings.burst if burst is None else burst
        store = await get_job_store()
        thread_pool = new_job_thread_pool()
        self._job_context = contextvars.copy_context()
        self._job_context.run(bind_handlers, self.handlers)
        self._job_context.run(bind_thread_pool, thread_pool)
        try:
            await self._serve(store, burst)
        finally:
            # A thread that outlived its job is not waited for here; ``threads_ended`` tells the process.
            thread_pool.shutdown(wait=False, cancel_futures=True)
        logger.info("worker %s stopped", self.worker_id)

    async def _serve(self, store: JobStore, burst: bool) -> None:
        job_types = sorted(self.handlers)
        loop = asyncio.get_running_loop()
        logger.info(
            "worker %s started: store backend=%s location=%s store_id=%s concurrency=%d job types=%s%s",
            self.worker_id,
            store.backend,
            store.location,
            store.store_id,
            self.settings.concurrency,
            ",".join(job_types),
            " (burst)" if burst else "",
        )
        if self.handle_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self._on_signal, signum)
        maintenance: asyncio.Task[None] | None = None
        try:
            await self._upkeep(store)
            maintenance = asyncio.create_task(self._maintain(store))
            await self._claim_loop(store, Settler(store), job_types, burst)
            await self._finish_running()
        finally:
            if maintenance is not None:
                maintenance.cancel()
                await asyncio.gather(maintenance, return_exceptions=True)
            if self.handle_signals:
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(signum)

    # -- claiming --------------------------------------------------------------------------------------------

    async def _claim_loop(self, store: JobStore, settler: Settler, job_types: Sequence[str], burst: bool) -> None:
        """Claim as many jobs as there are free slots, in one statement; when that drains what is runnable, wait
        for a change (in burst mode: for the running jobs to end, then return once nothing is left)."""
        settings = self.settings
        watching = False
        token: int | None = None
        empty_polls = 0
        while not self._stopping.is_set():
            free = settings.concurrency - self._busy_slots
            if free <= 0:
                await self._sleep(None)
                continue
            try:
                jobs = await settler.claim(self.worker_id, settings.lease_s, free, job_types)
            except StoreError as exc:
                logger.warning(
                    "worker %s: claim failed, retrying in %.1f s: %s", self.worker_id, CLAIM_ERROR_DELAY_S, exc.message
                )
                await self._sleep(CLAIM_ERROR_DELAY_S)
                continue
            for job in jobs:
                self._start(store, job, settler)
            if jobs:
                watching, empty_polls = False, 0
            if len(jobs) == free:
                continue
            # Fewer jobs than free slots: nothing else is runnable at this moment.
            if burst:
                if not self._runs:
                    return
                await self._sleep(None)
            elif not watching:
                # Work just stopped flowing: take the change signal's value, then look once more, so a job
                # committed between the last claim and that read is not missed.
                token = await self._read_commit_token(store, None)
                watching, empty_polls = True, 0
            else:
                token = await self._wait_for_change(store, token, empty_polls)
                empty_polls += 1

    async def _wait_for_change(self, store: JobStore, token: int | None, empty_polls: int) -> int | None:
        """Return when a claim is worth trying: the change signal moved, or the idle interval passed."""
        settings = self.settings
        if token is None:
            await self._sleep(min(settings.poll_max_s, settings.poll_min_s * 2**empty_polls))
            return None
        deadline = time.monotonic() + settings.poll_max_s
        stop_watching = store.watch_commits(self._wake.set)
        woken = False
        try:
            while not self._stopping.is_set():
                current = await self._read_commit_token(store, token)
                if current != token:
                    return current
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                # With the store's commit hint the token is read when a commit may have landed, otherwise on a
                # timer. A hint comes with the commit's writes to the WAL file, a moment before the commit shows in
                # the token, so a hint that found no change is followed by one more look ``poll_min_s`` later.
                interval = settings.poll_min_s if stop_watching is None or woken else settings.poll_max_s
                woken = await self._sleep(min(interval, remaining))
        finally:
            if stop_watching is not None:
                stop_watching()
        return token

    async def _read_commit_token(self, store: JobStore, fallback: int | None) -> int | None:
        try:
            return await store.commit_token()
        except StoreError as exc:
            logger.debug("worker %s: change signal unavailable: %s", self.worker_id, exc.message)
            return fallback

    async def _sleep(self, seconds: float | None) -> bool:
        """Sleep ``seconds`` (``None``: without limit), ending early when a job ends, the store reports a commit or
        the worker stops; whether it ended early."""
        if self._stopping.is_set():
            return True
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            return False
        self._wake.clear()
        return True

    # -- running ---------------------------------------------------------------------------------------------

    def _start(self, store: JobStore, job: Job, settler: Settler) -> None:
        job_run = JobRun(store, job, self.settings, settler, self._free_slot)
        self._busy_slots += 1
        self._runs.add(job_run)
        task = asyncio.create_task(self._run_job(job_run), context=self._job_context.copy())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_job(self, job_run: JobRun) -> None:
        try:
            await job_run.run()
        except Exception:
            logger.exception("job %s: the worker failed while running it", job_run.job.id)
        finally:
            job_run.release_slot()
            self._runs.discard(job_run)
            if not job_run.threads_ended:
                self.threads_ended = False
            self._wake.set()

    def _free_slot(self) -> None:
        self._busy_slots -= 1
        self._wake.set()

    async def _finish_running(self) -> None:
        if not self._tasks:
            return
        if not self._stopping.is_set():
            await asyncio.wait(set(self._tasks))
            return
        running = set(self._tasks)
        logger.info(
            "worker %s stopping: %d running job(s) get %.0f s to finish",
            self.worker_id,
            len(running),
            self.settings.grace_s,
        )
        _, unfinished = await asyncio.wait(running, timeout=self.settings.grace_s)
        if unfinished:
            for job_run in list(self._runs):
                job_run.stop(StopReason.SHUTDOWN)
            await asyncio.wait(unfinished)

    # -- upkeep and signals ----------------------------------------------------------------------------------

    async def _maintain(self, store: JobStore) -> None:
        while True:
            await asyncio.sleep(self.settings.requeue_interval_s)
            await self._upkeep(store)

    async def _upkeep(self, store: JobStore) -> None:
        """Re-queue the jobs of dead workers; when an hour has passed since last time, prune old finished jobs with
        their files and remove expired previews."""
        try:
            await store.requeue_expired_jobs()
        except StoreError as exc:
            logger.warning("worker %s: re-queueing expired jobs failed: %s", self.worker_id, exc.message)
        if time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + PRUNE_INTERVAL_S
        settings = self.settings
        try:
            media = await get_media_store()
            if settings.retention_s > 0:
                await remove_jobs_files(media, await store.prune_jobs(settings.retention_s))
            if settings.preview_retention_s > 0:
                await expire_previews(store, media, settings.preview_retention_s)
        except (StoreError, MediaStoreError) as exc:
            logger.warning("worker %s: pruning finished jobs and their files failed: %s", self.worker_id, exc.message)

    def _on_signal(self, signum: int) -> None:
        self._signals_received += 1
        name = signal.Signals(signum).name
        if self._signals_received > 1:
            logger.warning(
                "worker %s: second %s, exiting now; unfinished jobs rerun after their lease", self.worker_id, name
            )
            logging.shutdown()
            os._exit(1)
        logger.info("worker %s: %s received, no new jobs will be claimed", self.worker_id, name)
        self.stop()
