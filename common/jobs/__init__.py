"""Job state: the ``Job`` model, the ``JobStore`` interface, and the one way to reach a store.

Everything outside this package gets its store from ``await get_job_store()``; nothing else constructs one.
"""

from common.jobs.factory import close_job_store, get_job_store
from common.jobs.model import (
    TERMINAL_STATUSES,
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
    JobType,
    MediaReferences,
    QueueStats,
)
from common.jobs.poll import to_poll_body
from common.jobs.store import JobStore

__all__ = [
    "TERMINAL_STATUSES",
    "AssetCursor",
    "AssetSummary",
    "AssetVersion",
    "DeletedAsset",
    "DurationHistogram",
    "Job",
    "JobError",
    "JobSnapshot",
    "JobStatus",
    "JobStore",
    "JobStoreMetrics",
    "JobType",
    "MediaReferences",
    "QueueStats",
    "close_job_store",
    "get_job_store",
    "to_poll_body",
]
