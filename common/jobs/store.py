"""The ``JobStore`` interface: what every backend offers, async throughout.

Fencing rule: every write a worker makes (``heartbeat``, ``set_progress``, ``complete``, ``fail``, ``release``)
names the ``lease_token`` handed out by ``claim_jobs`` (or ``claim_next_job``) and applies only while the job is
still ``running`` under that token and the lease has not expired. A worker that lost its lease gets ``False`` back
and can never overwrite newer state. Batching never weakens this: ``settle_jobs`` fences each settlement by its
own lease, so one refused settlement is refused alone and the others in the group still commit.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from common.jobs.model import (
    AssetCursor,
    AssetSummary,
    AssetVersion,
    DeletedAsset,
    Job,
    JobError,
    JobSnapshot,
    JobStatus,
    JobStoreMetrics,
    MediaReferences,
    Settlement,
)


class JobStore(ABC):
    #: ``"local"`` or ``"turso"``.
    backend: str
    #: Whether ``settle_and_claim`` costs less than ``settle_jobs`` and ``claim_jobs`` apart: true for a server,
    #: where it saves a request; false for the local file, whose single statements skip a thread hand-off.
    combines_settle_and_claim: bool = False

    @property
    @abstractmethod
    def store_id(self) -> str:
        """A random id created with the schema and kept in the database: equal ids mean the same store."""

    @property
    @abstractmethod
    def location(self) -> str:
        """An absolute file path or a URL without credentials; safe to log."""

    # -- jobs, as the web sees them ----------------------------------------------------------------------

    @abstractmethod
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
        """Queue a job. Returns ``(job, created)``; with an idempotency key already used for this type, the
        first job comes back with ``created=False`` and nothing new is queued. ``request_fingerprint`` (a digest of
        what was asked) is kept with the key; reusing the key with another fingerprint raises
        ``IdempotencyKeyReused``. ``max_attempts`` (how many times the job may run) defaults to
        ``JOB_MAX_ATTEMPTS``; it is stored with the job, the one place retries are decided."""

    @abstractmethod
    async def get_job(self, job_id: str) -> Job | None: ...

    @abstractmethod
    async def get_job_snapshot(self, job_id: str) -> JobSnapshot | None:
        """The fields a poll shows, read by themselves: the same values ``get_job`` would give at that moment."""

    @abstractmethod
    async def get_changed_job_snapshots(
        self, known: Mapping[str, datetime], since: datetime | None = None
    ) -> dict[str, JobSnapshot | None]:
        """In one read, ``get_job_snapshot`` of each job in ``known`` (id -> the ``updated_at`` the caller has)
        whose ``updated_at`` is now different; ``None`` for a job no longer in the store. Unchanged jobs are
        left out. With ``since``, also every job whose ``updated_at`` is later than ``since``, named in ``known``
        or not: its cost follows how many jobs changed, not how many are watched."""

    @abstractmethod
    async def newest_job_update(self) -> datetime | None:
        """The latest ``updated_at`` of any job (``None``: no jobs): where a reader that follows changes with
        ``get_changed_job_snapshots(..., since=...)`` starts."""

    @abstractmethod
    async def cancel_job(self, job_id: str) -> Job | None:
        """A queued or running job becomes ``cancelled`` at once; a terminal job is returned unchanged.
        ``None`` for an unknown id."""

    @abstractmethod
    async def list_jobs(
        self,
        *,
        status: JobStatus | None = None,
        job_type: str | None = None,
        limit: int = 100,
    ) -> list[Job]:
        """Newest first."""

    @abstractmethod
    async def count_jobs(self) -> dict[str, dict[str, int]]:
        """``{job_type: {status: count}}`` for every type and status present."""

    @abstractmethod
    async def retry_job(self, job_id: str) -> Job | None:
        """A ``failed`` job goes back to ``queued`` to run again from scratch: attempts, progress, error and
        result are cleared. ``None`` when there is no such job or it has not failed (nothing changes)."""

    @abstractmethod
    async def get_metrics(self, duration_bucket_bounds_s: Sequence[float]) -> JobStoreMetrics:
        """Counts by type and status, queue depth and wait per type, failures by error code, run-time histograms
        (cumulative buckets at the given bounds, in seconds) and the store's counters."""

    # -- jobs, as a worker sees them ----------------------------------------------------------------------

    @abstractmethod
    async def claim_jobs(
        self,
        worker_id: str,
        lease_s: float,
        limit: int,
        job_types: Sequence[str] | None = None,
    ) -> list[Job]:
        """Atomically hand the (up to) ``limit`` oldest runnable queued jobs to exactly one caller in one
        statement, each marked ``running`` under its own fresh ``lease_token`` (on the returned jobs) that expires
        after ``lease_s``. Empty when nothing is runnable."""

    @abstractmethod
    async def claim_next_job(
        self,
        worker_id: str,
        lease_s: float,
        job_types: Sequence[str] | None = None,
    ) -> Job | None:
        """``claim_jobs`` with a limit of one: the job, or ``None`` when nothing is runnable."""

    @abstractmethod
    async def heartbeat(self, job_id: str, lease_token: str, lease_s: float) -> bool:
        """Extend the lease. ``False`` means the caller no longer owns the job (cancelled, expired,
        re-claimed) and must stop working on it."""

    @abstractmethod
    async def set_progress(self, job_id: str, lease_token: str, progress: float, stage: str | None = None) -> bool:
        """Record a running job's progress (0..1) and what it is doing now (a ``JobStage``; ``None``: nothing
        named), fenced like every worker write."""

    @abstractmethod
    async def settle_jobs(self, settlements: Sequence[Settlement]) -> list[bool]:
        """Group commit of final writes (complete, fail, release): one statement per kind present settles all of
        that kind, each settlement fenced by its own lease as the single writes are. The list says, in order,
        which were applied; a refused settlement (lease lost, token mismatch) changes nothing and the others
        still commit."""

    @abstractmethod
    async def settle_and_claim(
        self,
        settlements: Sequence[Settlement],
        worker_id: str,
        lease_s: float,
        limit: int,
        job_types: Sequence[str] | None = None,
    ) -> tuple[list[bool], list[Job]]:
        """``settle_jobs`` then ``claim_jobs`` in one transaction (one request to a server): each settlement fenced
        by its own lease, each claimed job exactly one caller's, as when they are apart. On ``StoreError`` neither
        part was applied, unless the error is that the answer was lost (as for any write). Never repeated after a
        dropped connection, as a claim is not."""

    @abstractmethod
    async def complete_job(self, job_id: str, lease_token: str, result: dict[str, Any]) -> bool: ...

    @abstractmethod
    async def complete_job_with_asset_version(
        self, job_id: str, lease_token: str, result: dict[str, Any], asset_id: str, info: dict[str, Any]
    ) -> AssetVersion | None:
        """``complete_job`` for a job that makes the next version of ``asset_id``: the version is recorded with
        ``info`` in the same transaction as the completion, under the same fence, and its number is written into
        the result's ``version``. ``None`` (nothing recorded) when the caller no longer owns the job. When the
        asset was deleted, the job ends ``failed`` with code ``asset_deleted`` in that same transaction and
        ``AssetDeleted`` is raised: nothing is recorded, and the run's files are its own to remove."""

    @abstractmethod
    async def fail_job(
        self,
        job_id: str,
        lease_token: str,
        error: JobError,
        *,
        retry_at: datetime | None = None,
    ) -> bool:
        """With ``retry_at`` the job goes back to ``queued`` to run again no earlier than then (as long as
        attempts remain; otherwise it fails); without it the job ends ``failed`` with ``error``."""

    @abstractmethod
    async def release_job(self, job_id: str, lease_token: str) -> bool:
        """Give a running job back to the queue at once (graceful shutdown); its attempt is not counted."""

    @abstractmethod
    async def requeue_expired_jobs(self) -> int:
        """Running jobs whose lease lapsed (their worker died) go back to ``queued``, or end ``failed`` with
        code ``worker_lost`` when they have used all their attempts; each adds one to the ``leases_expired``
        counter. Returns how many were touched."""

    @abstractmethod
    async def prune_jobs(self, older_than_s: float) -> list[Job]:
        """Delete terminal jobs finished more than ``older_than_s`` ago. Returns them, so their files can go too."""

    @abstractmethod
    async def delete_finished_job(self, job_id: str) -> Job | None:
        """Delete a terminal job's row and return it; ``None`` (nothing deleted) for an unknown or unfinished job."""

    @abstractmethod
    async def commit_token(self) -> int | None:
        """A cheap value that changes whenever anything is committed to the store, by any process (this one's own
        writes included), so a reader waiting for a change (a long-poll, an idle worker) can skip its read while
        it stays put. ``None`` when the backend has no such signal (poll instead)."""

    def watch_commits(self, on_commit: Callable[[], None]) -> Callable[[], None] | None:
        """Call ``on_commit`` on the running event loop soon after anything may have been committed, by any process
        on this host, until the returned function is called; ``None`` when the backend cannot (read
        ``commit_token()`` on a timer instead). A hint: it may come without a change, so ``commit_token()`` decides;
        a commit made before the call may or may not be reported, so read the token once after it."""
        return None

    # -- assets ---------------------------------------------------------------------------------------------

    @abstractmethod
    async def add_asset_version(self, asset_id: str, job_id: str, info: dict[str, Any]) -> AssetVersion:
        """Record the next version of ``asset_id`` (1 for a new asset) outside any job's completion, as an import
        or a test does; a worker records versions with ``complete_job_with_asset_version``, under its lease.
        Idempotent per ``job_id``: a second call gets the first version back instead of a second one.
        ``AssetDeleted`` for a deleted asset."""

    @abstractmethod
    async def get_asset_versions(self, asset_id: str) -> list[AssetVersion]:
        """Oldest first; empty for an unknown asset."""

    @abstractmethod
    async def list_assets(self, *, limit: int = 50, before: AssetCursor | None = None) -> list[AssetSummary]:
        """Assets with at least one version, newest first (creation time, then id), starting after ``before``."""

    @abstractmethod
    async def get_asset_summary(self, asset_id: str) -> AssetSummary | None: ...

    @abstractmethod
    async def rename_asset(self, asset_id: str, title: str) -> AssetSummary | None:
        """Give the asset a new title (its versions keep theirs); ``None`` for an asset with no version."""

    @abstractmethod
    async def delete_asset(self, asset_id: str) -> DeletedAsset | None:
        """In one transaction: mark the asset deleted for good (no version can be recorded for it again), delete
        its finished jobs' rows, cancel its queued and running jobs, and delete its versions, title and library
        entry. ``None`` (nothing changes) for an asset with no version."""

    @abstractmethod
    async def delete_asset_version(self, asset_id: str, version: int) -> AssetVersion | None:
        """Delete one version, and the finished job that made it; return it. ``None`` when there is no such
        version; ``LastAssetVersion`` (nothing deleted) when it is the asset's only one."""

    @abstractmethod
    async def get_media_references(self) -> MediaReferences:
        """Every job and every asset version, read in one transaction (the media garbage collector's view)."""

    # -- the media store bound to this job store ------------------------------------------------------------

    @abstractmethod
    async def record_media_store_id(self, media_store_id: str) -> str:
        """Record ``media_store_id`` as the media store of this job store unless one is recorded already; return the
        recorded id (the given one on the first call, the first caller's ever after)."""

    # -- media accounting (what the media store holds, kept here so every backend knows it cheaply) -----------

    @abstractmethod
    async def media_used_bytes(self) -> int:
        """The bytes the media store holds: every recorded object, plus the reservations of writes in progress."""

    @abstractmethod
    async def reserve_media_bytes(self, key: str, write_id: str, size_bytes: int, limit_bytes: int | None) -> bool:
        """Make or grow write ``write_id``'s reservation of ``key`` to ``size_bytes``, only if the total stays
        within ``limit_bytes`` (``None``: no limit); False, nothing changed, when it would not. Reservations not
        touched for a day are dropped first (their writers died)."""

    @abstractmethod
    async def release_media_reservation(self, key: str, write_id: str) -> None:
        """Drop a write's reservation: the write failed and stored nothing."""

    @abstractmethod
    async def record_media_object(self, key: str, write_id: str, size_bytes: int) -> None:
        """The write stored ``key`` with ``size_bytes``: its reservation becomes the object's record, in one
        transaction."""

    @abstractmethod
    async def forget_media_object(self, key: str) -> None:
        """``key`` was deleted from the media store."""

    @abstractmethod
    async def forget_media_prefix(self, prefix: str) -> None:
        """Every object below the folder ``prefix`` was deleted from the media store."""

    @abstractmethod
    async def database_time_ms(self) -> int:
        """The database's clock (ms since the epoch), which every record's time is taken from."""

    @abstractmethod
    async def recount_media_objects(self, objects: Sequence[tuple[str, int]], listed_since_ms: int) -> None:
        """Make the account match a listing of the media store (``(key, size)`` of every object) begun at
        ``listed_since_ms`` by the database's clock, in one transaction; what changed since then is kept."""

    # -- lifecycle ------------------------------------------------------------------------------------------

    @abstractmethod
    async def close(self) -> None: ...
