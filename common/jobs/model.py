"""The job record and its vocabulary. Plain data: no I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from common.ids import is_valid_id


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


class JobType(StrEnum):
    """The kinds of job the application creates. The store itself accepts any type name."""

    INGEST = "ingest"
    EDIT_PREVIEW = "edit.preview"
    EDIT_SAVE = "edit.save"
    RENDER = "render"


@dataclass(frozen=True, slots=True)
class JobError:
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class Job:
    """One job as the store holds it. Times are timezone-aware UTC datetimes."""

    id: str
    type: str
    status: JobStatus
    payload: dict[str, Any]
    result: dict[str, Any] | None
    error: JobError | None
    progress: float
    attempts: int
    max_attempts: int
    created_at: datetime
    updated_at: datetime
    run_after: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    lease_owner: str | None = None
    lease_token: str | None = None
    lease_expires_at: datetime | None = None
    idempotency_key: str | None = None
    #: What a running job is doing now (a ``common.stages.JobStage``); ``None`` when it has not said or is not running.
    stage: str | None = None


@dataclass(frozen=True, slots=True)
class JobSnapshot:
    """What a poll shows of a job: the poll body's fields, read without the rest of the row. Polls are by far the
    most frequent request, and reading and building only these costs less than a whole ``Job``."""

    id: str
    type: str
    status: JobStatus
    progress: float
    result: dict[str, Any] | None
    error: JobError | None
    created_at: datetime
    updated_at: datetime
    stage: str | None = None


@dataclass(frozen=True, slots=True)
class AssetVersion:
    """One version of an asset: what the worker measured and where its objects are (media keys, through its URLs)."""

    asset_id: str
    version: int
    job_id: str
    created_at: datetime
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AssetSummary:
    """What the recordings library shows of an asset. ``storage_bytes`` adds up the ``sizeBytes`` its versions
    recorded (master and peaks files); versions recorded without one count as 0."""

    asset_id: str
    title: str
    created_at: datetime
    updated_at: datetime
    versions: int
    latest_version: int
    duration_s: float | None
    loudness: dict[str, Any] | None
    storage_bytes: int
    #: Where the page after this asset starts (``AssetCursor``), in the store's own clock of integer milliseconds.
    created_ms: int

    @property
    def cursor(self) -> AssetCursor:
        return AssetCursor(self.created_ms, self.asset_id)


@dataclass(frozen=True, slots=True)
class DeletedAsset:
    """What an asset's deletion took out of the store: its versions, and the rows of its jobs that had finished
    (whose files the caller removes). Its queued and running jobs were cancelled instead: each run removes its own
    output when it learns of the cancel."""

    asset_id: str
    versions: list[AssetVersion]
    finished_jobs: list[Job]
    cancelled_job_ids: list[str]


@dataclass(frozen=True, slots=True)
class MediaReferences:
    """Every job and every asset version in the store, read together: what may refer to media."""

    jobs: list[Job]
    versions: list[AssetVersion]


@dataclass(frozen=True, slots=True)
class AssetCursor:
    """A place in the library's newest-first order: the assets after it are older (or as old, with a lower id)."""

    created_ms: int
    asset_id: str

    def to_text(self) -> str:
        return f"{self.created_ms}-{self.asset_id}"

    @classmethod
    def from_text(cls, text: str) -> AssetCursor | None:
        """The cursor ``to_text`` wrote, or ``None`` for anything else."""
        created, _, asset_id = text.partition("-")
        if not created.isascii() or not created.isdigit() or len(created) > 15:
            return None
        if not is_valid_id(asset_id):
            return None
        return cls(int(created), asset_id)


@dataclass(frozen=True, slots=True)
class QueueStats:
    """The queued jobs of one type: how many, and how long the longest-waiting runnable one has waited."""

    depth: int
    oldest_runnable_age_s: float | None


@dataclass(frozen=True, slots=True)
class DurationHistogram:
    """Run times (``finished_at - started_at``) of the finished jobs of one type and terminal status still in the
    store. ``bucket_counts[i]`` counts the runs of at most ``bucket_bounds_s[i]`` seconds (cumulative)."""

    count: int
    sum_s: float
    bucket_counts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class JobStoreMetrics:
    """What the store reports about itself, read together for ``/metrics``; every process reads the same values."""

    jobs: dict[str, dict[str, int]]
    queues: dict[str, QueueStats]
    failures: dict[tuple[str, str], int]
    durations: dict[tuple[str, str], DurationHistogram]
    bucket_bounds_s: tuple[float, ...]
    counters: dict[str, int]
