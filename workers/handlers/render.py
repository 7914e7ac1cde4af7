"""The ``render`` job: a version written as a delivery file (format, preset, targets, tags)."""

from __future__ import annotations

import logging
from typing import Any

from common.audio.presets import parse_render_options, targets_to_json
from common.audio.render import render_master
from common.jobs import Job
from common.media import media_url, render_dir
from workers.context import JobContext
from workers.handlers.assets import payload_master

logger = logging.getLogger(__name__)

_OPTION_KEYS = ("format", "preset", "bitrate", "tags", "targets")


async def handle_render(job: Job, ctx: JobContext) -> dict[str, Any]:
    options = parse_render_options({key: job.payload.get(key) for key in _OPTION_KEYS})
    base, master = await payload_master(job)
    asset_id = base.asset_id
    title = options.tags.get("title") or str(base.info.get("title") or "")
    rendered = await ctx.run_in_thread(
        render_master,
        master,
        options,
        render_dir(job.id),
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
