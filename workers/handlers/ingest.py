"""The ``ingest`` job: an upload becomes version 1 of its asset."""

from __future__ import annotations

import logging

from common.assets import NewAssetVersion
from common.audio.ingest import ingest_file
from common.jobs import Job
from common.media import asset_run_dir, upload_path
from workers.context import JobContext
from workers.handlers.assets import max_duration_s, payload_id, run_token, version_info

logger = logging.getLogger(__name__)


async def handle_ingest(job: Job, ctx: JobContext) -> NewAssetVersion:
    asset_id = payload_id(job, "assetId")
    upload_id = payload_id(job, "uploadId")
    title = job.payload.get("title") or job.payload.get("filename") or ""
    outcome = await ctx.run_in_thread(
        ingest_file,
        upload_path(upload_id),
        asset_run_dir(asset_id, job.id, run_token(job)),
        max_duration_s=max_duration_s(),
        on_progress=ctx.report_progress,
        check_cancel=ctx.raise_if_cancelled,
    )
    info = version_info(
        outcome.files, source_format=outcome.source.format, source_codec=outcome.source.codec, title=str(title)
    )
    logger.info("job %s: asset %s ingested, its version is recorded on completion", job.id, asset_id)
    return NewAssetVersion(asset_id, info)
