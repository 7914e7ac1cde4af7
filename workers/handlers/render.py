"""The ``render`` job: a version written as a delivery file (format, preset, targets, tags)."""

from __future__ import annotations

import logging
from typing import Any

from common.audio.render import render_master
from common.jobs import Job, get_job_store
from common.media import media_url, render_run_dir
from common.render_options import RENDER_OPTION_NAMES, parse_render_options, targets_to_json
from workers.context import JobContext
from workers.handlers.assets import payload_master, run_token

logger = logging.getLogger(__name__)


async def handle_render(job: Job, ctx: JobContext) -> dict[str, Any]:
    options = parse_render_options({key: job.payload.get(key) for key in RENDER_OPTION_NAMES})
    base, master = await payload_master(job)
    asset_id = base.asset_id
    # The asset's current title: a rename after this version was made is what the file should be called.
    summary = await (await get_job_store()).get_asset_summary(asset_id)
    title = options.tags.get("title") or (summary.title if summary else str(base.info.get("title") or ""))
    rendered = await ctx.run_in_thread(
        render_master,
        master,
        options,
        render_run_dir(job.id, run_token(job)),
        title=title,
        on_progress=ctx.report_progress,
        check_cancel=ctx.raise_if_cancelled,
    )
    logger.info("job %s: asset %s version %d rendered as %s", job.id, asset_id, base.version, options.format)
    return {
        "assetId": asset_id,
        "version": base.version,
        "format": options.format,
        "url": media_url(rendered.path),
        "filename": rendered.path.name,
        "durationSec": rendered.duration_s,
        "sampleRate": rendered.sample_rate,
        "channels": rendered.channels,
        "bitrate": rendered.bitrate_kbps,
        "loudness": rendered.loudness.to_json(),
        "preset": options.preset,
        "targets": targets_to_json(rendered.targets),
        "targetsMet": rendered.targets_met,
    }
