"""Removing the media of what the job store no longer holds: a deleted asset, version or render, pruned jobs,
expired previews, the upload of an ingest that ended. One place for these rules, shared by the web (deletes), the
worker (the end of an ingest, upkeep) and the operators' commands.

Ownership: each function removes only files nothing can write or publish any more. A finished job's run prefixes
are removed only after its row is gone or terminal (no run can complete it); a queued or running job's output is
never touched here: its runs remove their own when they learn the job ended. Whatever a crash leaves behind
(the row gone, a file not yet removed) is what ``python -m workers media-gc`` finds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from common.ids import is_valid_id
from common.jobs import AssetVersion, DeletedAsset, Job, JobStore
from common.media import ingest_upload_key, job_prefixes, preview_prefix, version_run_prefixes
from common.media_store import MediaStore

logger = logging.getLogger(__name__)

PREVIEWS_PREFIX = "previews"


def _asset_id(job: Job) -> str | None:
    asset_id = job.payload.get("assetId")
    return asset_id if isinstance(asset_id, str) and is_valid_id(asset_id) else None


async def remove_upload(media: MediaStore, job: Job) -> None:
    """An ``ingest`` job ended (completed, failed for good or cancelled): no run will read its upload again."""
    key = ingest_upload_key(job.type, job.payload)
    if key is not None:
        await media.delete(key)
        logger.info("job %s: upload %s removed", job.id, key)


async def remove_finished_job_files(media: MediaStore, job: Job, *, with_versions: bool = False) -> None:
    """The files of a finished job whose row is gone: its previews and renders (every run), its upload; with
    ``with_versions`` (the asset is deleted) also its runs below the asset, versions included."""
    asset_id = _asset_id(job)
    for prefix in job_prefixes(asset_id if with_versions else None, job.id):
        await media.delete_prefix(prefix)
    await remove_upload(media, job)


async def remove_jobs_files(media: MediaStore, jobs: Iterable[Job]) -> None:
    """``remove_finished_job_files`` of pruned jobs: the versions they made stay (the asset still names them)."""
    for job in jobs:
        await remove_finished_job_files(media, job)


async def remove_version_files(media: MediaStore, version: AssetVersion) -> None:
    """A deleted version's master, peaks and kept original (the run prefix that holds them)."""
    for prefix in sorted(version_run_prefixes(version.asset_id, version.job_id, version.info)):
        await media.delete_prefix(prefix)


async def remove_asset_files(media: MediaStore, deleted: DeletedAsset) -> None:
    """Everything of a deleted asset but the output of its cancelled runs (theirs to remove): every version's
    files, and every file of its finished jobs (previews, renders, runs below the asset, uploads)."""
    for version in deleted.versions:
        await remove_version_files(media, version)
    for job in deleted.finished_jobs:
        await remove_finished_job_files(media, job, with_versions=True)


async def expire_previews(store: JobStore, media: MediaStore, older_than_s: float) -> int:
    """Remove every preview whose newest file is older than ``older_than_s`` and whose job has ended (or is gone).
    Returns how many previews (jobs) were removed."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
    newest: dict[str, datetime] = {}
    async for info in media.list_objects(PREVIEWS_PREFIX):
        job_id = info.key.split("/")[1]
        newest[job_id] = max(newest.get(job_id, info.modified_at), info.modified_at)
    expired = 0
    for job_id, modified_at in sorted(newest.items()):
        if modified_at >= cutoff or not is_valid_id(job_id):
            continue
        job = await store.get_job_snapshot(job_id)
        if job is not None and not job.status.is_terminal:
            continue
        await media.delete_prefix(preview_prefix(job_id))
        expired += 1
        logger.info("job %s: preview expired and removed", job_id)
    return expired
