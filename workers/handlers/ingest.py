"""The ``ingest`` job: an upload becomes version 1 of its asset."""

from __future__ import annotations

import logging
from typing import Any

from common.assets import version_result
from common.audio.ingest import ingest_file
from common.jobs import Job, get_job_store
from common.media import asset_job_dir, upload_path
from workers.context import JobContext
from workers.handlers.assets import max_duration_s, payload_id, version_info

logger = logging.getLogger(__name__)


async def handle_ingest(job: Job, ctx: JobContext) -> dict[str, Any]:
    asset_id = payload_id(job, "assetId")
    upload_id = payload_id(job, "uploadId")
    title = job.payload.get("title") or job.payload.get("filename") or ""
    outcome = await ctx.run_in_thread(
        ingest_file,
        upload_path(upload_id),
        asset_job_dir(asset_id, job.id),
        max_duration_s=max_duration_s(),
        on_progress=ctx.report_progress,
        check_cancel=ctx.raise_if_cancelled,
    )
    info = version_info(
        outcome.files, source_format=outcome.source.format, source_codec=outcome.source.codec, title=str(title)
    )
    version = await (await get_job_store()).add_asset_version(asset_id, job.id, info)
    logger.info("job %s: asset %s version %d ingested", job.id, asset_id, version.version)
    return version_result(version)
