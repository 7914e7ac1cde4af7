"""The ``edit.preview`` job: a small MP3 of a version with an edit list applied, nothing recorded."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from common.audio.editing import PREVIEW_ENCODING, preview_edits
from common.edits import parse_edit_list
from common.jobs import Job
from common.media import media_url, preview_dir
from workers.context import JobContext
from workers.handlers.assets import find_version, master_of, payload_id, payload_version

logger = logging.getLogger(__name__)


async def handle_edit_preview(job: Job, ctx: JobContext) -> dict[str, Any]:
    asset_id = payload_id(job, "assetId")
    base = await find_version(asset_id, payload_version(job))
    master = master_of(base)
    edits = parse_edit_list(job.payload.get("edits"), master.frames / master.sample_rate)
    preview = await asyncio.to_thread(
        preview_edits,
        master,
        edits,
        preview_dir(job.id),
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
