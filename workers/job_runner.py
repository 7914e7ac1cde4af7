"""``JobRun``: one claimed job from hand-over to its last store write.

While the handler runs, a heartbeat renews the lease and a throttled writer records progress; either learning
that the lease is gone (``False`` from the store: cancelled through the API, or passed to another worker) stops
the handler, as do the job's timeout and the worker's shutdown. The handler's task is cancelled at once and its
threads are waited for (they stop at their next ``ctx.raise_if_cancelled()``) before partial output is removed,
so nothing is written after the clean-up. Once the handler and its threads are over the run gives its slot back
(``release_slot``), and its final write (complete, fail, release) goes through the worker's ``Settler``, committed
together with those of other runs ending at the same time, still fenced by this run's lease.

Output: the run writes only under its own prefixes in the media store (``common.media.run_output_prefixes``,
named from its lease token), and removes only those, never an object the job's result names. Once the job is
terminal (this run completed or failed it, or found it so), no other run can publish anything any more, so the
prefixes of the job's other runs that hold nothing its result names are removed too (left by workers that died),
and so is an ingest's upload (a retry that is still to come keeps it: only a terminal job's upload goes).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from common.assets import NewAssetVersion
from common.errors import AssetDeleted, StoreError
from common.ids import is_valid_id
from common.jobs.model import Job, JobError, JobStatus, Settlement
from common.jobs.store import JobStore
from common.media import holds_any, job_prefixes, published_keys, run_output_prefixes, run_prefix_of
from common.media_cleanup import remove_upload
from common.media_store import MediaStoreError, get_media_store
from workers.dispatch import process_job
from workers.failures import classify, retry_delay_s
from workers.handler_protocol import HandlerResult
from workers.job_context import RunningJobContext, StopReason
from workers.settings import WorkerSettings
from workers.settler import Settler
from workers.threads import start_job_task, wait_for_threads

logger = logging.getLogger(__name__)

#: Final writes (complete, fail, release) are retried on a transient store error (unreachable, busy, full) with
#: back-off from the first to the longest delay, for as long as the run's lease lasts; after that the lease lapses
#: and the store's expiry hands the job to another run.
_WRITE_RETRY_FIRST_S = 0.25
_WRITE_RETRY_MAX_S = 2.0

T = TypeVar("T")


class JobRun:
    def __init__(
        self, store: JobStore, job: Job, settings: WorkerSettings, settler: Settler, free_slot: Callable[[], None]
    ) -> None:
        if job.lease_token is None:
            raise ValueError(f"job {job.id} was not claimed: it has no lease token")
        self.job = job
        self._token: str = job.lease_token
        self._store = store
        self._settler = settler
        self._free_slot = free_slot
        self._holds_slot = True
        self._settings = settings
        self._ctx = RunningJobContext(job, asyncio.get_running_loop())
        self._handler: asyncio.Task[HandlerResult] | None = None
        self._threads: list[Future[Any]] = []
        self._started = time.monotonic()
        #: When the lease lapses at the latest, as far as this process knows (moved on by each renewal).
        self._lease_until = self._started + settings.lease_s
        #: False when a handler thread outlived the wait for it (it ignores ``raise_if_cancelled``).
        self.threads_ended = True

    @property
    def attempt_limit(self) -> int:
        return self.job.max_attempts

    def release_slot(self) -> None:
        """Give the worker its slot back, once: the handler and its threads are over, so another job may start
        while this one's final write and clean-up go on."""
        if self._holds_slot:
            self._holds_slot = False
            self._free_slot()

    def stop(self, reason: StopReason) -> None:
        """Stop the handler (the first reason wins); the job is then settled as ``reason`` says."""
        if self._ctx.request_stop(reason) and self._handler is not None:
            self._handler.cancel()

    async def run(self) -> None:
        job = self.job
        self._log(logging.INFO, "claimed")
        if job.attempts > self.attempt_limit:
            self.release_slot()
            # Earlier runs were lost with their workers; the store re-queued it because the job allows more.
            error = JobError("worker_lost", "the job's earlier runs were lost with their workers, no attempts left")
            if await self._write(self._settler.settle, Settlement.fail(job.id, self._token, error)):
                self._log(logging.WARNING, "failed", "code=worker_lost")
                await self._ended(set())
            else:
                await self._settle_lost()
            return
        self._handler = start_job_task(process_job(job, self._ctx), self._threads)
        if self._ctx.stop_reason is not None:
            self._handler.cancel()
        loop = asyncio.get_running_loop()
        keepers: list[asyncio.Task[None]] = []
        # Most jobs end before their lease needs renewing or their progress is worth writing: each keeper's task
        # starts only when its first write is due, so a short job creates neither.
        timers = [
            loop.call_later(
                self._settings.heartbeat_s, lambda: keepers.append(asyncio.create_task(self._keep_lease()))
            ),
            loop.call_later(
                self._settings.progress_first_s, lambda: keepers.append(asyncio.create_task(self._write_progress()))
            ),
            loop.call_later(self._settings.timeout_for(job.type), self.stop, StopReason.TIMEOUT),
        ]
        try:
            await asyncio.wait({self._handler})
        finally:
            for timer in timers:
                timer.cancel()
            for keeper in keepers:
                keeper.cancel()
            self._handler.cancel()
            await asyncio.gather(*keepers, return_exceptions=True)
        self.threads_ended = await wait_for_threads(self._threads, self._settings.heartbeat_s)
        if not self.threads_ended:
            logger.warning("job %s: a handler thread is still running after the job stopped", job.id)
        else:
            # A thread still running keeps its slot until the run ends: the pool must not grow past concurrency.
            self.release_slot()
        await self._settle(self._handler)

    # -- while the handler runs ------------------------------------------------------------------------------

    async def _keep_lease(self) -> None:
        """Renew the lease now and every ``heartbeat_s`` after (started when the first renewal is due)."""
        settings = self._settings
        renewed = self._started
        while True:
            try:
                owned = await self._store.heartbeat(self.job.id, self._token, settings.lease_s)
            except StoreError as exc:
                if time.monotonic() - renewed >= settings.lease_s:
                    self.stop(StopReason.LEASE_LOST)
                    return
                logger.warning("job %s heartbeat failed, will retry: %s", self.job.id, exc.message)
            else:
                if not owned:
                    self.stop(StopReason.LEASE_LOST)
                    return
                renewed = time.monotonic()
                self._lease_until = renewed + settings.lease_s
            await asyncio.sleep(settings.heartbeat_s)

    async def _write_progress(self) -> None:
        """Write the latest progress and stage when the handler reported any: once ``progress_first_s`` after the
        claim (when this task starts), then at most every ``progress_interval_s``. The claim has just written the
        job (``progress = 0``), so a write at once would tell a follower nothing new. The first write gives a
        follower the job's pace, from which the page moves its bar between writes; later writes only correct it,
        and each one answers every long-poll on the job, so they are rare."""
        written: tuple[float, str | None] = (self.job.progress, None)
        quarter = 0
        while True:
            fraction, stage = latest = await self._ctx.next_progress()
            if latest != written:
                try:
                    owned = await self._store.set_progress(self.job.id, self._token, fraction, stage)
                except StoreError as exc:
                    logger.debug("job %s progress not recorded: %s", self.job.id, exc.message)
                    owned = True
                if not owned:
                    self.stop(StopReason.LEASE_LOST)
                    return
                if stage != written[1]:
                    self._log(logging.INFO, "stage", f"stage={stage}")
                written = latest
                if int(fraction * 4) > quarter and fraction < 1.0:
                    quarter = int(fraction * 4)
                    self._log(logging.INFO, "progress", f"progress={quarter * 25}%")
            await asyncio.sleep(self._settings.progress_interval_s)

    # -- after the handler ended -----------------------------------------------------------------------------

    async def _settle(self, handler: asyncio.Task[HandlerResult]) -> None:
        job, reason = self.job, self._ctx.stop_reason
        exc = None if handler.cancelled() else handler.exception()
        if not handler.cancelled() and exc is None:
            await self._complete(handler.result())
            return
        if reason is StopReason.SHUTDOWN:
            await self._remove_outputs()
            if await self._write(self._settler.settle, Settlement.release(job.id, self._token)):
                self._log(logging.INFO, "released")
            else:
                await self._settle_lost()
        elif reason is StopReason.TIMEOUT:
            await self._remove_outputs()
            limit_s = self._settings.timeout_for(job.type)
            error = JobError("timeout", f"the job ran longer than its limit of {limit_s:g} s")
            if await self._write(self._settler.settle, Settlement.fail(job.id, self._token, error)):
                self._log(logging.WARNING, "failed", "code=timeout")
                await self._ended(set())
            else:
                await self._settle_lost()
        elif reason is StopReason.LEASE_LOST or exc is None:
            await self._settle_lost()
        else:
            await self._settle_failure(exc)

    async def _complete(self, outcome: HandlerResult) -> None:
        job, store = self.job, self._store
        if isinstance(outcome, NewAssetVersion):
            result = outcome.result()
            try:
                version = await self._write(
                    store.complete_job_with_asset_version, job.id, self._token, result, outcome.asset_id, outcome.info
                )
            except AssetDeleted:
                # The store failed the job in the completion's own transaction: these files are no one's.
                self._log(logging.WARNING, "failed", f"code=asset_deleted asset={outcome.asset_id}")
                await self._ended(set())
                return
            done = version is not None
            detail = "" if version is None else f"asset={outcome.asset_id} version={version.version}"
            published = published_keys(result)
        else:
            done = bool(await self._write(self._settler.settle, Settlement.complete(job.id, self._token, outcome)))
            detail = ""
            published = published_keys(outcome)
        if not done:
            await self._settle_lost()
            return
        self._log(logging.INFO, "completed", detail)
        await self._ended(published)

    async def _settle_failure(self, exc: BaseException) -> None:
        job = self.job
        failure = classify(exc)
        if failure.unexpected:
            logger.error("job %s: unexpected error in the %s handler", job.id, job.type, exc_info=exc)
        await self._remove_outputs()
        retry_in_s = None
        if failure.transient and job.attempts < self.attempt_limit:
            retry_in_s = retry_delay_s(job.attempts, self._settings.retry_base_s, self._settings.retry_max_s)
        retry_at = None if retry_in_s is None else datetime.now(UTC) + timedelta(seconds=retry_in_s)
        settlement = Settlement.fail(job.id, self._token, failure.error, retry_at)
        if not await self._write(self._settler.settle, settlement):
            await self._settle_lost()
            return
        detail = f"code={failure.error.code} message={failure.error.message!r}"
        if retry_in_s is None:
            self._log(logging.WARNING, "failed", detail)
            await self._ended(set())
        else:
            self._log(logging.WARNING, "failed, will retry", f"{detail} retry_in={retry_in_s:.1f}s")

    async def _settle_lost(self) -> None:
        """A write was refused (or failed): find out why, and remove this run's output unless it was published."""
        try:
            current = await self._store.get_job(self.job.id)
        except StoreError as exc:
            self._log(logging.WARNING, "lease lost", f"status=unknown ({exc.message})")
            return
        if current is not None and current.status is JobStatus.RUNNING and current.lease_token == self._token:
            # The write never reached the store; the lease lapses and the job runs again.
            self._log(logging.WARNING, "abandoned", "reason=store write failed")
            return
        status = current.status if current is not None else None
        if current is not None and status is not None and status.is_terminal:
            # A completion of ours whose answer was lost names our files: they stay.
            await self._ended(published_keys(current.result))
        else:
            await self._remove_outputs()
        if status is JobStatus.CANCELLED:
            self._log(logging.INFO, "cancelled")
        else:
            self._log(logging.WARNING, "lease lost", f"status={status.value if status else 'deleted'}")

    async def _write(self, write: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T | None:
        """A fenced final write, retried on transient store errors while the lease lasts; ``None`` when it could
        not be made (the store's answer, ``False`` or ``None``, when it was refused)."""
        delay_s = _WRITE_RETRY_FIRST_S
        while True:
            try:
                return await write(*args, **kwargs)
            except AssetDeleted:
                raise
            except StoreError as exc:
                if not exc.transient or time.monotonic() + delay_s >= self._lease_until:
                    logger.error("job %s: store write failed, the lease will lapse: %s", self.job.id, exc.message)
                    return None
                logger.warning("job %s: store write failed, retrying in %.2fs: %s", self.job.id, delay_s, exc.message)
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, _WRITE_RETRY_MAX_S)

    def _asset_id(self) -> str | None:
        asset_id = self.job.payload.get("assetId")
        # Only a well-formed id may become part of a path that is deleted.
        return asset_id if isinstance(asset_id, str) and is_valid_id(asset_id) else None

    async def _remove_outputs(self) -> None:
        """Remove this run's own prefixes: nothing under them was published, since the run did not complete."""
        try:
            store = await get_media_store()
            for prefix in run_output_prefixes(self._asset_id(), self.job.id, self._token):
                await store.delete_prefix(prefix)
        except MediaStoreError as exc:
            logger.warning("job %s: partial output not removed: %s", self.job.id, exc.message)

    async def _remove_unpublished_runs(self, published: set[str]) -> None:
        """The job is terminal: remove every run prefix of it (this run's and others') holding no published key."""
        try:
            store = await get_media_store()
            for job_prefix in job_prefixes(self._asset_id(), self.job.id):
                runs = {run_prefix_of(info.key, job_prefix) async for info in store.list_objects(job_prefix)}
                for run in sorted(run for run in runs if run is not None):
                    if not holds_any(run, published):
                        await store.delete_prefix(run)
        except MediaStoreError as exc:
            logger.warning("job %s: other runs' output not removed: %s", self.job.id, exc.message)

    async def _ended(self, published: set[str]) -> None:
        """The job is terminal: no run can publish anything or read its input any more. Remove the runs' output
        nobody names, and an ingest's upload (a kept original is a copy the version names)."""
        await self._remove_unpublished_runs(published)
        try:
            await remove_upload(await get_media_store(), self.job)
        except MediaStoreError as exc:
            logger.warning("job %s: upload not removed: %s", self.job.id, exc.message)

    def _log(self, level: int, event: str, detail: str = "") -> None:
        job = self.job
        logger.log(
            level,
            "job %s %s type=%s attempt=%d/%d duration=%.3fs%s",
            job.id,
            event,
            job.type,
            job.attempts,
            self.attempt_limit,
            time.monotonic() - self._started,
            f" {detail}" if detail else "",
        )
