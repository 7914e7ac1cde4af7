"""Job state: the ``Job`` model, the ``JobStore`` interface, and the one way to reach a store.

Everything outside this package gets its store from ``await get_job_store()``; nothing else constructs one.
"""

from common.jobs.factory import close_job_store, get_job_store
from common.jobs.model import (
    TERMINAL_STATUSES,
    AssetCursor,
    AssetSummary,
    AssetVersion,
    Job,
    JobError,
    JobSnapshot,
    JobStatus,
    JobType,
)
from common.jobs.poll import to_poll_body
from common.jobs.store import JobStore

__all__ = [
    "TERMINAL_STATUSES",
    "AssetCursor",
    "AssetSummary",
    "AssetVersion",
    "Job",
    "JobError",
    "JobSnapshot",
    "JobStatus",
    "JobStore",
    "JobType",
    "close_job_store",
    "get_job_store",
    "to_poll_body",
]
