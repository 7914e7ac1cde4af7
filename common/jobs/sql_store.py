"""``SqlJobStore``: the whole ``JobStore`` interface on top of two primitives, so backends differ only in how a
statement reaches the database.

A backend implements ``_execute`` (one statement, its rows back) and ``_batch`` (several statements in one
transaction, each statement's rows back), ``_close`` and ``commit_token``; everything else lives here, on the
statements in ``common.jobs.sql``.
"""

from __future__ import annotations

import json
import logging
import math
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from common.config import job_max_attempts
from common.errors import AssetDeleted, IdempotencyKeyReused, LastAssetVersion, StoreError
from common.ids import new_id
from common.jobs import sql
from common.jobs.model import (
    AssetCursor,
    AssetSummary,
    AssetVersion,
    DeletedAsset,
    DurationHistogram,
    Job,
    JobError,
    JobSnapshot,
    JobStatus,
    JobStoreMetrics,
    MediaReferences,
    QueueStats,
    SettleKind,
    Settlement,
)
from common.jobs.store import JobStore

logger = logging.getLogger(__name__)

Params = Mapping[str, Any]
Row = Sequence[Any]
Statement = tuple[str, Params]

#: A reservation not touched for this long belongs to a write whose process died: no write takes a day.
MEDIA_RESERVATION_EXPIRY_MS = 24 * 3600 * 1000


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise StoreError("times given to the job store must be timezone-aware", code="invalid_time")
    return int(moment.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def _optional_from_ms(value: int | None) -> datetime | None:
    return None if value is None else from_ms(value)


def _same_or_from_ms(value: int, known_ms: int, known: datetime) -> datetime:
    # A queued job's times are one value (one statement's clock): share the immutable datetime already made.
    return known if value == known_ms else from_ms(value)


def _dump(value: Any) -> str:
    """JSON text for a column. Stored JSON never holds ``NaN`` or ``Infinity`` (other readers refuse them): a
    non-finite number is written as ``null``."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), separators=(",", ":"), ensure_ascii=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _non_finite_as_null(constant: str) -> None:
    # Rows written before non-finite numbers were refused can hold ``NaN``/``Infinity``: read them as null.
    return None


_STATUSES = {status.value: status for status in JobStatus}
_decode_json = json.JSONDecoder(parse_constant=_non_finite_as_null).decode


def _status(value: str) -> JobStatus:
    # The dict is the cheap path every poll takes; ``JobStatus(...)`` only to raise for an unknown value.
    return _STATUSES.get(value) or JobStatus(value)


def _optional_json(value: str | None) -> Any:
    return None if value is None else _decode_json(value)


def _error(code: str | None, message: str | None) -> JobError | None:
    return None if code is None else JobError(code=code, message=message or "")


def job_from_row(row: Row) -> Job:
    """A row of ``sql.JOB_COLUMNS`` as a ``Job``."""
    (
        job_id,
        job_type,
        status,
        payload,
        result,
        error_code,
        error_message,
        progress,
        attempts,
        max_attempts,
        created_at,
        updated_at,
        run_after,
        started_at,
        finished_at,
        lease_owner,
        lease_token,
        lease_expires_at,
        idempotency_key,
        stage,
    ) = row
    created = from_ms(created_at)
    return Job(
        id=job_id,
        type=job_type,
        status=_status(status),
        payload=_decode_json(payload),
        result=_optional_json(result),
        error=_error(error_code, error_message),
        progress=float(progress),
        attempts=attempts,
        max_attempts=max_attempts,
        created_at=created,
        updated_at=_same_or_from_ms(updated_at, created_at, created),
        run_after=_same_or_from_ms(run_after, created_at, created),
        started_at=_optional_from_ms(started_at),
        finished_at=_optional_from_ms(finished_at),
        lease_owner=lease_owner,
        lease_token=lease_token,
        lease_expires_at=_optional_from_ms(lease_expires_at),
        idempotency_key=idempotency_key,
        stage=stage,
    )


def job_snapshot_from_row(row: Row) -> JobSnapshot:
    """A row of ``sql.JOB_SNAPSHOT_COLUMNS`` as a ``JobSnapshot``, with ``job_from_row``'s conversions."""
    job_id, job_type, status, progress, result, error_code, error_message, created_at, updated_at, stage = row
    created = from_ms(created_at)
    return JobSnapshot(
        id=job_id,
        type=job_type,
        status=_status(status),
        progress=float(progress),
        result=_optional_json(result),
        error=_error(error_code, error_message),
        created_at=created,
        updated_at=_same_or_from_ms(updated_at, created_at, created),
        stage=stage,
    )


def asset_version_from_row(row: Row) -> AssetVersion:
    asset_id, version, job_id, created_at, info = row
    return AssetVersion(
        asset_id=asset_id, version=version, job_id=job_id, created_at=from_ms(created_at), info=_decode_json(info)
    )


def asset_summary_from_row(row: Row) -> AssetSummary:
    """A row of ``sql.ASSET_SUMMARY_COLUMNS`` as an ``AssetSummary``."""
    asset_id, title, created_at, updated_at, versions, latest_version, duration_sec, loudness, storage_bytes = row
    return AssetSummary(
        asset_id=asset_id,
        title=str(title),
        created_at=from_ms(created_at),
        updated_at=from_ms(updated_at),
        versions=int(versions),
        latest_version=int(latest_version),
        duration_s=None if duration_sec is None else float(duration_sec),
        loudness=_optional_json(loudness),
        storage_bytes=int(storage_bytes),
        created_ms=int(created_at),
    )


_SETTLE_STATEMENTS = {
    SettleKind.COMPLETE: sql.COMPLETE_JOBS,
    SettleKind.FAIL: sql.FAIL_JOBS,
    SettleKind.RELEASE: sql.RELEASE_JOBS,
}


def _settlement_item(settlement: Settlement) -> dict[str, Any]:
    """One element of a group statement's ``:settlements`` array (see ``sql._settled``)."""
    item: dict[str, Any] = {"id": settlement.job_id, "lease_token": settlement.lease_token}
    if settlement.kind is SettleKind.COMPLETE:
        item["result"] = _dump(settlement.result)
    elif settlement.kind is SettleKind.FAIL:
        error = settlement.error
        if error is None:
            raise StoreError(f"the failure of job {settlement.job_id} names no error", code="invalid_argument")
        item["retry_at"] = None if settlement.retry_at is None else to_ms(settlement.retry_at)
        item["error_code"] = error.code
        item["error_message"] = error.message
    return item


def _claim_statement(
    worker_id: str, lease_s: float, limit: int, job_types: Sequence[str] | None
) -> tuple[str, dict[str, Any]]:
    """``claim_jobs``'s statement, its arguments checked (an empty ``job_types`` claims nothing: the caller's to
    answer without asking the database)."""
    if lease_s <= 0:
        raise StoreError("lease_s must be positive", code="invalid_argument")
    if limit < 1:
        raise StoreError("limit must be at least 1", code="invalid_argument")
    params: dict[str, Any] = {"worker_id": worker_id, "lease_ms": int(lease_s * 1000), "limit": limit}
    if job_types is not None:
        params["job_types"] = _dump(list(job_types))
    return sql.claim_jobs(by_type=job_types is not None), params


def _claimed(worker_id: str, rows: list[Row]) -> list[Job]:
    # RETURNING gives rows in no promised order: start them in queue order.
    jobs = sorted((job_from_row(row) for row in rows), key=lambda job: (job.run_after, job.created_at))
    for job in jobs:
        logger.debug("job %s claimed by %s, attempt %d", job.id, worker_id, job.attempts)
    return jobs


_SettleMembers = list[tuple[int, Settlement]]


def _settle_statements(settlements: Sequence[Settlement]) -> list[tuple[Statement, _SettleMembers]]:
    """The group statements that settle ``settlements``, in the order they must run, each with the settlements
    (and their indexes) it carries: one per kind present, and more rounds when one job is settled twice."""
    statements: list[tuple[Statement, _SettleMembers]] = []
    waiting = list(enumerate(settlements))
    while waiting:
        # Two runs of one job can end together (the first lost its lease); the statement updates a row once,
        # so each round holds at most one settlement per job.
        by_kind: dict[SettleKind, _SettleMembers] = {}
        seen: set[str] = set()
        later: _SettleMembers = []
        for index, settlement in waiting:
            if settlement.job_id in seen:
                later.append((index, settlement))
                continue
            seen.add(settlement.job_id)
            by_kind.setdefault(settlement.kind, []).append((index, settlement))
        for kind, members in by_kind.items():
            items = _dump([_settlement_item(settlement) for _, settlement in members])
            statements.append(((_SETTLE_STATEMENTS[kind], {"settlements": items}), members))
        waiting = later
    return statements


def _record_settled(applied: list[bool], members: _SettleMembers, rows: list[Row]) -> None:
    """Mark in ``applied`` which of ``members`` their statement settled (it returned their ids)."""
    done = {row[0] for row in rows}
    for index, settlement in members:
        applied[index] = settlement.job_id in done
        logger.debug(
            "job %s %s: %s", settlement.job_id, settlement.kind.value, "recorded" if applied[index] else "refused"
        )


class SqlJobStore(JobStore):
    def __init__(self) -> None:
        self._store_id = ""
        #: The previous ``get_changed_job_snapshots`` read's snapshots by row: a follower reading often gets many
        #: of the same rows again (its look by time overlaps the last), and a row is far cheaper to look up than
        #: to convert.
        self._changed_snapshots: dict[tuple[Any, ...], JobSnapshot] = {}

    # -- what a backend provides ----------------------------------------------------------------------------

    @abstractmethod
    async def _execute(self, statement: str, params: Params) -> list[Row]:
        """Run one statement on its own (autocommit) and return its rows."""

    @abstractmethod
    async def _batch(self, statements: Sequence[Statement], *, repeatable: bool = True) -> list[list[Row]]:
        """Run the statements in one transaction, all or nothing, and return each statement's rows. A batch that is
        not ``repeatable`` (it claims jobs) is never sent again once it may have reached the database."""

    @abstractmethod
    async def _close(self) -> None: ...

    # -- schema ----------------------------------------------------------------------------------------------

    async def _migrate(self) -> None:
        """Create or upgrade the schema. Safe when several processes open a new store at the same moment:
        each migration's batch starts with a guard insert that only one of them can make."""
        await self._batch(
            [(sql.CREATE_META, {}), (sql.INSERT_STORE_ID, {"store_id": new_id()}), (sql.INSERT_SCHEMA_VERSION, {})]
        )
        meta = await self._read_meta()
        version = int(meta["schema_version"])
        for number, statements in sql.MIGRATIONS:
            if number <= version:
                continue
            batch: list[Statement] = [(sql.migration_guard(number), {})]
            batch += [(statement, {}) for statement in statements]
            batch.append((sql.set_schema_version(number), {}))
            try:
                await self._batch(batch)
                logger.info("job store schema migrated to version %d at %s", number, self.location)
            except StoreError:
                # Another process may have applied it between our read and our batch; only that is fine.
                if int((await self._read_meta())["schema_version"]) < number:
                    raise
        meta = await self._read_meta()
        if int(meta["schema_version"]) > sql.LATEST_SCHEMA_VERSION:
            raise StoreError(
                f"the job store at {self.location} has schema version {meta['schema_version']}, newer than this "
                f"code knows ({sql.LATEST_SCHEMA_VERSION}); upgrade the code",
                code="schema_too_new",
            )
        self._store_id = meta["store_id"]

    async def _read_meta(self) -> dict[str, str]:
        return {key: value for key, value in await self._execute(sql.READ_META, {})}

    @property
    def store_id(self) -> str:
        return self._store_id

    # -- jobs, as the web sees them --------------------------------------------------------------------------

    async def create_job(
        self,
        job_type: str,
        payload: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        request_fingerprint: str | None = None,
        max_attempts: int | None = None,
        run_after: datetime | None = None,
    ) -> tuple[Job, bool]:
        if max_attempts is None:
            max_attempts = job_max_attempts()
        if max_attempts < 1:
            raise StoreError("max_attempts must be at least 1", code="invalid_argument")
        params = {
            "id": new_id(),
            "type": job_type,
            "payload": _dump(payload),
            "max_attempts": max_attempts,
            "run_after": None if run_after is None else to_ms(run_after),
            "idempotency_key": idempotency_key,
            "request_fingerprint": request_fingerprint if idempotency_key is not None else None,
        }
        rows = await self._execute(sql.INSERT_JOB, params)
        if rows:
            job = job_from_row(rows[0])
            logger.debug("job %s created, type %s", job.id, job_type)
            return job, True
        existing = await self._execute(
            sql.SELECT_JOB_BY_IDEMPOTENCY_KEY, {"type": job_type, "idempotency_key": idempotency_key}
        )
        if not existing:
            raise StoreError(
                f"job with idempotency key {idempotency_key!r} vanished while being created; try again",
                transient=True,
            )
        *job_row, stored_fingerprint = existing[0]
        # A job from before fingerprints were kept has none: nothing to compare, so it is taken as the same request.
        if request_fingerprint is not None and stored_fingerprint not in (None, request_fingerprint):
            raise IdempotencyKeyReused(
                f"Idempotency-Key {idempotency_key!r} was already used with a different request; use a new key"
            )
        return job_from_row(tuple(job_row)), False

    async def get_job(self, job_id: str) -> Job | None:
        rows = await self._execute(sql.SELECT_JOB, {"id": job_id})
        return job_from_row(rows[0]) if rows else None

    async def get_job_snapshot(self, job_id: str) -> JobSnapshot | None:
        rows = await self._execute(sql.SELECT_JOB_SNAPSHOT, {"id": job_id})
        return job_snapshot_from_row(rows[0]) if rows else None

    async def get_changed_job_snapshots(
        self, known: Mapping[str, datetime], since: datetime | None = None
    ) -> dict[str, JobSnapshot | None]:
        if not known and since is None:
            return {}
        known_ms = _dump({job_id: to_ms(updated_at) for job_id, updated_at in known.items()})
        since_ms = None if since is None else to_ms(since)
        rows = await self._execute(sql.SELECT_CHANGED_JOB_SNAPSHOTS, {"known": known_ms, "since": since_ms})
        previous, converted = self._changed_snapshots, {}
        changed: dict[str, JobSnapshot | None] = {}
        for row in rows:
            if row[1] is None:
                changed[row[0]] = None
                continue
            key = tuple(row[1:])
            snapshot = previous.get(key)
            if snapshot is None:
                snapshot = job_snapshot_from_row(key)
            converted[key] = changed[row[0]] = snapshot
        self._changed_snapshots = converted
        return changed

    async def newest_job_update(self) -> datetime | None:
        rows = await self._execute(sql.SELECT_NEWEST_JOB_UPDATE, {})
        return None if not rows or rows[0][0] is None else from_ms(rows[0][0])

    async def cancel_job(self, job_id: str) -> Job | None:
        params = {"id": job_id}
        _, rows = await self._batch([(sql.CANCEL_JOB, params), (sql.SELECT_JOB, params)])
        if not rows:
            return None
        job = job_from_row(rows[0])
        logger.info("job %s cancel requested, status now %s", job_id, job.status.value)
        return job

    async def list_jobs(
        self,
        *,
        status: JobStatus | None = None,
        job_type: str | None = None,
        limit: int = 100,
    ) -> list[Job]:
        statement = sql.list_jobs(by_status=status is not None, by_type=job_type is not None)
        params: dict[str, Any] = {"limit": limit}
        if status is not None:
            params["status"] = JobStatus(status).value
        if job_type is not None:
            params["type"] = job_type
        return [job_from_row(row) for row in await self._execute(statement, params)]

    async def count_jobs(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for job_type, status, count in await self._execute(sql.COUNT_JOBS, {}):
            counts.setdefault(job_type, {})[status] = count
        return counts

    async def retry_job(self, job_id: str) -> Job | None:
        rows = await self._execute(sql.RETRY_JOB, {"id": job_id})
        if not rows:
            return None
        logger.info("job %s queued again by an operator, with a fresh attempt budget", job_id)
        return job_from_row(rows[0])

    async def get_metrics(self, duration_bucket_bounds_s: Sequence[float]) -> JobStoreMetrics:
        bounds_s = tuple(float(bound) for bound in duration_bucket_bounds_s)
        histogram = sql.job_duration_histogram(tuple(round(bound * 1000) for bound in bounds_s))
        queues = {
            job_type: QueueStats(depth=depth, oldest_runnable_age_s=None if age_ms is None else max(age_ms, 0) / 1000)
            for job_type, depth, age_ms in await self._execute(sql.QUEUE_STATS, {})
        }
        failure_rows = await self._execute(sql.COUNT_FAILURES, {})
        failures = {(job_type, code or "unknown"): count for job_type, code, count in failure_rows}
        durations = {
            (job_type, status): DurationHistogram(
                count=count, sum_s=(total_ms or 0) / 1000, bucket_counts=tuple(int(n or 0) for n in buckets)
            )
            for job_type, status, count, total_ms, *buckets in await self._execute(histogram, {})
        }
        counters = {name: int(value) for name, value in await self._execute(sql.READ_COUNTERS, {})}
        return JobStoreMetrics(
            jobs=await self.count_jobs(),
            queues=queues,
            failures=failures,
            durations=durations,
            bucket_bounds_s=bounds_s,
            counters=counters,
        )

    # -- jobs, as a worker sees them -------------------------------------------------------------------------

    async def claim_jobs(
        self,
        worker_id: str,
        lease_s: float,
        limit: int,
        job_types: Sequence[str] | None = None,
    ) -> list[Job]:
        statement = _claim_statement(worker_id, lease_s, limit, job_types)
        if job_types is not None and not job_types:
            return []
        return _claimed(worker_id, await self._execute(*statement))

    async def claim_next_job(
        self,
        worker_id: str,
        lease_s: float,
        job_types: Sequence[str] | None = None,
    ) -> Job | None:
        jobs = await self.claim_jobs(worker_id, lease_s, 1, job_types)
        return jobs[0] if jobs else None

    async def _fenced(self, statement: str, job_id: str, lease_token: str, **params: Any) -> bool:
        rows = await self._execute(statement, {"id": job_id, "lease_token": lease_token, **params})
        return bool(rows)

    async def heartbeat(self, job_id: str, lease_token: str, lease_s: float) -> bool:
        if lease_s <= 0:
            raise StoreError("lease_s must be positive", code="invalid_argument")
        return await self._fenced(sql.HEARTBEAT, job_id, lease_token, lease_ms=int(lease_s * 1000))

    async def set_progress(self, job_id: str, lease_token: str, progress: float, stage: str | None = None) -> bool:
        progress = min(max(float(progress), 0.0), 1.0)
        return await self._fenced(sql.SET_PROGRESS, job_id, lease_token, progress=progress, stage=stage)

    async def settle_jobs(self, settlements: Sequence[Settlement]) -> list[bool]:
        applied = [False] * len(settlements)
        for statement, members in _settle_statements(settlements):
            _record_settled(applied, members, await self._execute(*statement))
        return applied

    async def settle_and_claim(
        self,
        settlements: Sequence[Settlement],
        worker_id: str,
        lease_s: float,
        limit: int,
        job_types: Sequence[str] | None = None,
    ) -> tuple[list[bool], list[Job]]:
        claim = _claim_statement(worker_id, lease_s, limit, job_types)
        if job_types is not None and not job_types:
            return await self.settle_jobs(settlements), []
        settles = _settle_statements(settlements)
        *settled, claimed = await self._batch([statement for statement, _ in settles] + [claim], repeatable=False)
        applied = [False] * len(settlements)
        for (_, members), rows in zip(settles, settled, strict=True):
            _record_settled(applied, members, rows)
        return applied, _claimed(worker_id, claimed)

    async def complete_job(self, job_id: str, lease_token: str, result: dict[str, Any]) -> bool:
        return (await self.settle_jobs([Settlement.complete(job_id, lease_token, result)]))[0]

    async def complete_job_with_asset_version(
        self, job_id: str, lease_token: str, result: dict[str, Any], asset_id: str, info: dict[str, Any]
    ) -> AssetVersion | None:
        fence = {"id": job_id, "lease_token": lease_token}
        info_json = _dump(info)
        _, completed, _, _, failed, rows = await self._batch(
            [
                (sql.INSERT_COMPLETED_ASSET_VERSION, {**fence, "asset_id": asset_id, "info": info_json}),
                (sql.COMPLETE_JOB_WITH_ASSET_VERSION, {**fence, "result": _dump(result), "info": info_json}),
                (sql.DELETE_UNCOMPLETED_ASSET_VERSION, {"id": job_id}),
                (sql.INSERT_ASSET, {"job_id": job_id}),
                (sql.FAIL_JOB_OF_DELETED_ASSET, {**fence, "asset_id": asset_id}),
                (sql.SELECT_ASSET_VERSION_BY_JOB, {"job_id": job_id}),
            ]
        )
        if failed:
            logger.info("job %s failed: asset %s was deleted while it ran", job_id, asset_id)
            raise AssetDeleted(f"asset {asset_id} was deleted while job {job_id} ran; nothing was recorded")
        if not completed:
            logger.debug("job %s completion refused, lease lost: no version recorded", job_id)
            return None
        version = asset_version_from_row(rows[0])
        logger.debug("job %s completed, recording asset %s version %d", job_id, asset_id, version.version)
        return version

    async def fail_job(
        self,
        job_id: str,
        lease_token: str,
        error: JobError,
        *,
        retry_at: datetime | None = None,
    ) -> bool:
        return (await self.settle_jobs([Settlement.fail(job_id, lease_token, error, retry_at)]))[0]

    async def release_job(self, job_id: str, lease_token: str) -> bool:
        return (await self.settle_jobs([Settlement.release(job_id, lease_token)]))[0]

    async def requeue_expired_jobs(self) -> int:
        rows = await self._execute(sql.REQUEUE_EXPIRED_JOBS, {})
        for (job_id,) in rows:
            logger.warning("job %s lease expired: its worker is gone", job_id)
        if rows:
            # A separate statement: a crash in between loses a count, never a job.
            await self._execute(sql.INCREMENT_COUNTER, {"name": sql.LEASES_EXPIRED_COUNTER, "amount": len(rows)})
        return len(rows)

    async def prune_jobs(self, older_than_s: float) -> list[Job]:
        rows = await self._execute(sql.PRUNE_JOBS, {"older_than_ms": int(older_than_s * 1000)})
        if rows:
            logger.info("pruned %d finished jobs older than %.0f s", len(rows), older_than_s)
        return [job_from_row(row) for row in rows]

    async def delete_finished_job(self, job_id: str) -> Job | None:
        rows = await self._execute(sql.DELETE_FINISHED_JOB, {"id": job_id})
        if not rows:
            return None
        logger.info("job %s deleted", job_id)
        return job_from_row(rows[0])

    # -- assets ----------------------------------------------------------------------------------------------

    async def add_asset_version(self, asset_id: str, job_id: str, info: dict[str, Any]) -> AssetVersion:
        _, _, rows = await self._batch(
            [
                (sql.INSERT_ASSET_VERSION, {"asset_id": asset_id, "job_id": job_id, "info": _dump(info)}),
                (sql.INSERT_ASSET, {"job_id": job_id}),
                (sql.SELECT_ASSET_VERSION_BY_JOB, {"job_id": job_id}),
            ]
        )
        if not rows:
            raise AssetDeleted(f"asset {asset_id} was deleted; no version can be recorded for it")
        version = asset_version_from_row(rows[0])
        logger.debug("job %s recorded asset %s version %d", job_id, version.asset_id, version.version)
        return version

    async def get_asset_versions(self, asset_id: str) -> list[AssetVersion]:
        rows = await self._execute(sql.SELECT_ASSET_VERSIONS, {"asset_id": asset_id})
        return [asset_version_from_row(row) for row in rows]

    async def list_assets(self, *, limit: int = 50, before: AssetCursor | None = None) -> list[AssetSummary]:
        if before is None:
            rows = await self._execute(sql.LIST_ASSETS, {"limit": limit})
        else:
            params = {"limit": limit, "before_created_at": before.created_ms, "before_asset_id": before.asset_id}
            rows = await self._execute(sql.LIST_ASSETS_BEFORE, params)
        return [asset_summary_from_row(row) for row in rows]

    async def get_asset_summary(self, asset_id: str) -> AssetSummary | None:
        rows = await self._execute(sql.SELECT_ASSET_SUMMARY, {"asset_id": asset_id})
        return asset_summary_from_row(rows[0]) if rows else None

    async def rename_asset(self, asset_id: str, title: str) -> AssetSummary | None:
        params = {"asset_id": asset_id}
        _, rows = await self._batch(
            [(sql.RENAME_ASSET, {**params, "title": title}), (sql.SELECT_ASSET_SUMMARY, params)]
        )
        if not rows:
            return None
        logger.info("asset %s renamed", asset_id)
        return asset_summary_from_row(rows[0])

    async def delete_asset(self, asset_id: str) -> DeletedAsset | None:
        params = {"asset_id": asset_id}
        _, finished, cancelled, versions, _, _ = await self._batch(
            [
                (sql.INSERT_DELETED_ASSET, params),
                (sql.DELETE_FINISHED_JOBS_OF_ASSET, params),
                (sql.CANCEL_JOBS_OF_ASSET, params),
                (sql.DELETE_ASSET_VERSIONS, params),
                (sql.DELETE_ASSET_TITLE, params),
                (sql.DELETE_ASSET, params),
            ]
        )
        if not versions:
            return None
        deleted = DeletedAsset(
            asset_id=asset_id,
            versions=sorted((asset_version_from_row(row) for row in versions), key=lambda v: v.version),
            finished_jobs=[job_from_row(row) for row in finished],
            cancelled_job_ids=[row[0] for row in cancelled],
        )
        logger.info(
            "asset %s deleted: %d versions, %d finished jobs, %d jobs cancelled",
            asset_id,
            len(deleted.versions),
            len(deleted.finished_jobs),
            len(deleted.cancelled_job_ids),
        )
        return deleted

    async def delete_asset_version(self, asset_id: str, version: int) -> AssetVersion | None:
        params = {"asset_id": asset_id, "version": version}
        rows = await self._execute(sql.SELECT_ASSET_VERSION, params)
        if not rows:
            return None
        job_id = asset_version_from_row(rows[0]).job_id
        deleted, _ = await self._batch(
            [(sql.DELETE_ASSET_VERSION, params), (sql.DELETE_JOB_OF_DELETED_VERSION, {"job_id": job_id})]
        )
        if not deleted:
            if await self._execute(sql.SELECT_ASSET_VERSION, params):
                raise LastAssetVersion(f"version {version} is the only version of asset {asset_id}; delete the asset")
            return None
        logger.info("asset %s version %d deleted", asset_id, version)
        return asset_version_from_row(deleted[0])

    async def get_media_references(self) -> MediaReferences:
        jobs, versions = await self._batch([(sql.SELECT_ALL_JOBS, {}), (sql.SELECT_ALL_ASSET_VERSIONS, {})])
        return MediaReferences(
            jobs=[job_from_row(row) for row in jobs], versions=[asset_version_from_row(row) for row in versions]
        )

    # -- the media store bound to this job store ------------------------------------------------------------

    async def record_media_store_id(self, media_store_id: str) -> str:
        _, rows = await self._batch(
            [(sql.INSERT_MEDIA_STORE_ID, {"media_store_id": media_store_id}), (sql.SELECT_MEDIA_STORE_ID, {})]
        )
        return str(rows[0][0])

    # -- media accounting ------------------------------------------------------------------------------------

    async def media_used_bytes(self) -> int:
        rows = await self._execute(sql.SELECT_MEDIA_USED_BYTES, {})
        return int(rows[0][0]) if rows else 0

    async def reserve_media_bytes(self, key: str, write_id: str, size_bytes: int, limit_bytes: int | None) -> bool:
        if not write_id:
            raise StoreError("a media reservation needs a write id", code="invalid_argument")
        _, reserved = await self._batch(
            [
                (sql.EXPIRE_MEDIA_RESERVATIONS, {"older_than_ms": MEDIA_RESERVATION_EXPIRY_MS}),
                (
                    sql.RESERVE_MEDIA_BYTES,
                    {"key": key, "write_id": write_id, "size_bytes": size_bytes, "limit_bytes": limit_bytes},
                ),
            ]
        )
        return bool(reserved)

    async def release_media_reservation(self, key: str, write_id: str) -> None:
        await self._execute(sql.RELEASE_MEDIA_RESERVATION, {"key": key, "write_id": write_id})

    async def record_media_object(self, key: str, write_id: str, size_bytes: int) -> None:
        await self._batch(
            [
                (sql.RELEASE_MEDIA_RESERVATION, {"key": key, "write_id": write_id}),
                (sql.RECORD_MEDIA_OBJECT, {"key": key, "size_bytes": size_bytes}),
            ]
        )

    async def forget_media_object(self, key: str) -> None:
        await self._execute(sql.FORGET_MEDIA_OBJECT, {"key": key})

    async def forget_media_prefix(self, prefix: str) -> None:
        await self._execute(sql.FORGET_MEDIA_PREFIX, {"prefix": prefix})

    async def database_time_ms(self) -> int:
        ((now_ms,),) = await self._execute(sql.SELECT_NOW_MS, {})
        return int(now_ms)

    async def recount_media_objects(self, objects: Sequence[tuple[str, int]], listed_since_ms: int) -> None:
        params = {"objects": _dump([[key, size] for key, size in objects]), "listed_since_ms": listed_since_ms}
        await self._batch([(sql.DROP_UNLISTED_MEDIA_OBJECTS, params), (sql.RECORD_LISTED_MEDIA_OBJECTS, params)])

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def close(self) -> None:
        await self._close()
