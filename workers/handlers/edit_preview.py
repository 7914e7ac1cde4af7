"""The ``edit.preview`` job: a small MP3 of a version with an edit list applied, nothing recorded."""

from __future__ import annotations

import logging
from typing import Any

from common.audio.editing import PREVIEW_ENCODING, preview_edits
from common.jobs import Job
from common.media import media_url, preview_run_dir
from workers.context import JobContext
from workers.handlers.assets import payload_edits, payload_master, run_token

logger = logging.getLogger(__name__)


async def handle_edit_preview(job: Job, ctx: JobContext) -> dict[str, Any]:
    base, master = await payload_master(job)
    asset_id = base.asset_id
    edits = payload_edits(job, master)
    preview = await ctx.run_in_thread(
        preview_edits,
        master,
        edits,
        preview_run_dir(job.id, run_token(job)),
        on_progress=ctx.report_progress,
        check_cancel=ctx.raise_if_cancelled,
    )
    logger.info("job %s: preview of asset %s version %d written", job.id, asset_id, base.version)
    return {
        "assetId": asset_id,
        "version": base.version,
        "previewUrl": media_url(preview.path),
        "durationSec": preview.duration_s,
        "format": PREVIEW_ENCODING,
        "loudness": preview.loudness.to_json(),
    }
