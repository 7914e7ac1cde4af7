"""The poll shape: the one formatter for every route that returns a job."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from common.jobs.model import Job, JobSnapshot

# printf-style: one C call for all seven fields, faster than ``strftime``, ``isoformat`` or an f-string with
# format specs, and every poll formats two times.
_ISO_MS = "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ"


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with millisecond precision and a ``Z``, e.g. ``2026-11-29T13:08:42.123Z``."""
    if moment.tzinfo is not None and moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return _ISO_MS % (
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond // 1000,
    )


def to_poll_body(job: Job | JobSnapshot) -> dict[str, Any]:
    created_at = iso_utc(job.created_at)
    # A job nothing has touched since it was queued (most of those polled) has one time for both.
    updated_at = created_at if job.updated_at == job.created_at else iso_utc(job.updated_at)
    return {
        "jobId": job.id,
        "type": job.type,
        "status": job.status.value,
        "progress": round(job.progress, 4),
        "stage": job.stage,
        "result": job.result,
        "error": job.error.to_dict() if job.error else None,
        "createdAt": created_at,
        "updatedAt": updated_at,
    }
