"""The ``render`` job: a version written as a delivery file (format, preset, targets, tags)."""

from __future__ import annotations

import logging
from typing import Any

from common.audio.render import render_master
from common.jobs import Job, get_job_store
from common.media import content_type, media_url, render_run_prefix
from common.media_store import get_media_store
from common.render_options import RENDER_OPTION_NAMES, parse_render_options, targets_to_json
from common.stages import JobStage
from workers.handler_protocol import JobContext
from workers.payloads import payload_master, run_token
from workers.scratch import in_thread, scratch_folder

logger = logging.getLogger(__name__)


async def handle_render(job: Job, ctx: JobContext) -> dict[str, Any]:
    options = parse_render_options({key: job.payload.get(key) for key in RENDER_OPTION_NAMES})
    async with scratch_folder(job.id) as folder:
        base, master = await payload_master(job, folder)
        asset_id = base.asset_id
        # The asset's current title: a rename after this version was made is what the file should be called.
        summary = await (await get_job_store()).get_asset_summary(asset_id)
        title = options.tags.get("title") or (summary.title if summary else str(base.info.get("title") or ""))
        rendered = await in_thread(
            ctx,
            render_master,
            master,
            options,
            folder / "render",
            title=title,
            on_progress=ctx.report_progress,
            check_cancel=ctx.raise_if_cancelled,
            on_stage=ctx.report_stage,
        )
        ctx.report_stage(JobStage.STORING)
        key = f"{render_run_prefix(job.id, run_token(job))}/{rendered.path.name}"
        await (await get_media_store()).put_file(key, rendered.path, content_type=content_type(key), consume=True)
    logger.info("job %s: asset %s version %d rendered as %s", job.id, asset_id, base.version, options.format)
    return {
        "assetId": asset_id,
        "version": base.version,
        "format": options.format,
        "url": media_url(key),
        "filename": rendered.path.name,
        "durationSec": rendered.duration_s,
        "sampleRate": rendered.sample_rate,
        "channels": rendered.channels,
        "bitrate": rendered.bitrate_kbps,
        "loudness": rendered.loudness.to_json(),
        "preset": options.preset,
        "targets": targets_to_json(rendered.targets),
        "targetsMet": rendered.targets_met,
        "compliance": rendered.compliance.to_json(),
    }
