"""The ``ingest`` job: an upload becomes version 1 of its asset. With ``KEEP_ORIGINALS`` a copy of the upload is
stored beside the version's master as its downloadable original (``originalUrl``); the upload itself is removed by
the worker once the job ended, like every other."""

from __future__ import annotations

import logging

from common.assets import NewAssetVersion
from common.audio.ingest import ingest_file
from common.config import keep_originals
from common.errors import MediaError
from common.jobs import Job
from common.media import asset_run_prefix, content_type, media_url, original_key, upload_key
from common.media_store import MediaNotFound, get_media_store
from common.stages import JobStage
from workers.handler_protocol import JobContext
from workers.payloads import max_duration_s, payload_id, run_token, store_version
from workers.scratch import in_thread, scratch_folder

logger = logging.getLogger(__name__)

#: The part of an ingest's progress that decoding the upload takes; storing its master and peaks the rest.
DECODING_SHARE = 0.95


async def handle_ingest(job: Job, ctx: JobContext) -> NewAssetVersion:
    asset_id = payload_id(job, "assetId")
    upload_id = payload_id(job, "uploadId")
    title = job.payload.get("title") or job.payload.get("filename") or ""
    async with scratch_folder(job.id) as folder:
        upload = folder / "upload"
        try:
            await (await get_media_store()).get_file(upload_key(upload_id), upload)
        except MediaNotFound as exc:
            raise MediaError("the uploaded file is missing", code="media_missing") from exc
        ctx.report_stage(JobStage.DECODING)
        outcome = await in_thread(
            ctx,
            ingest_file,
            upload,
            folder / "version",
            max_duration_s=max_duration_s(),
            # Storing the master and peaks is work too: decoding does not take the bar to its end.
            on_progress=lambda fraction: ctx.report_progress(DECODING_SHARE * fraction),
            check_cancel=ctx.raise_if_cancelled,
        )
        ctx.report_stage(JobStage.STORING)
        prefix = asset_run_prefix(asset_id, job.id, run_token(job))
        info = await store_version(
            outcome.files,
            prefix,
            source_format=outcome.source.format,
            source_codec=outcome.source.codec,
            warnings=outcome.warnings,
            title=str(title),
        )
        if keep_originals():
            key = original_key(prefix, str(job.payload.get("filename") or ""))
            kept = await (await get_media_store()).put_file(key, upload, content_type=content_type(key), consume=True)
            info = {**info, "originalUrl": media_url(key), "sizeBytes": info["sizeBytes"] + kept.size_bytes}
    for warning in outcome.warnings:
        logger.warning("job %s: damaged source, %s: %s", job.id, warning.code, warning.message)
    logger.info("job %s: asset %s ingested, its version is recorded on completion", job.id, asset_id)
    return NewAssetVersion(asset_id, info)
