"""The poll shape: the one formatter for every route that returns a job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from common.jobs.model import Job


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with millisecond precision and a ``Z``, e.g. ``2026-11-29T13:08:42.123Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_poll_body(job: Job) -> dict[str, Any]:
    return {
        "jobId": job.id,
        "type": job.type,
        "status": job.status.value,
        "progress": round(job.progress, 4),
        "result": job.result,
        "error": job.error.to_dict() if job.error else None,
        "createdAt": iso_utc(job.created_at),
        "updatedAt": iso_utc(job.updated_at),
    }
