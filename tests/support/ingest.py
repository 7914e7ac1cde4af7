"""A recording made by a test, left for a worker as the upload route leaves one: stored as a new upload through the
media-store factory, with an ``ingest`` job queued for it into a new asset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common.ids import new_id
from common.jobs import Job, JobStatus, get_job_store
from common.media import upload_key
from common.media_store import get_media_store
from tests.support.worker_process import is_finished, wait_for_job

INGEST_TIMEOUT_S = 120.0


async def queue_ingest(source: Path, *, title: str = "Talk", max_attempts: int | None = None) -> Job:
    """Move ``source`` into the media store as an upload and queue its ingest; the job, for a worker to run."""
    upload_id = new_id()
    await (await get_media_store()).put_file(upload_key(upload_id), source, consume=True)
    payload = {"assetId": new_id(), "uploadId": upload_id, "filename": source.name, "title": title}
    job, _ = await (await get_job_store()).create_job("ingest", payload, max_attempts=max_attempts)
    return job


async def ingest_recording(source: Path, *, title: str = "Talk") -> dict[str, Any]:
    """``queue_ingest`` and wait for a running worker to complete it: the ingest's result (``assetId``,
    ``durationSec`` and the rest of version 1)."""
    job = await queue_ingest(source, title=title)
    done = await wait_for_job(await get_job_store(), job.id, is_finished, timeout_s=INGEST_TIMEOUT_S)
    assert done.status is JobStatus.COMPLETED, done.error
    assert done.result is not None
    return done.result
