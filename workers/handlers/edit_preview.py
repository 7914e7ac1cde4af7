"""The ``edit.preview`` job: a small MP3 of a version with an edit list applied (in context, or whole), nothing
recorded."""

from __future__ import annotations

import logging
from typing import Any

from common.audio.editing import PREVIEW_ENCODING, preview_edits
from common.edits import PREVIEW_RULE, PREVIEW_WHOLE, parse_preview_mode
from common.jobs import Job
from common.media import content_type, media_url, preview_run_prefix
from common.media_store import get_media_store
from common.media_store.range_file import RangedObject
from common.stages import JobStage
from workers.handler_protocol import JobContext
from workers.payloads import payload_asks_for_repairs, payload_edits, payload_master, run_token
from workers.scratch import in_thread, scratch_folder

logger = logging.getLogger(__name__)


async def handle_edit_preview(job: Job, ctx: JobContext) -> dict[str, Any]:
    async with scratch_folder(job.id) as folder:
        # Jobs queued before the field existed asked for the whole recording.
        raw_mode = job.payload.get(PREVIEW_RULE.name)
        mode = PREVIEW_WHOLE if raw_mode is None else parse_preview_mode(raw_mode)
        excerpts = mode != PREVIEW_WHOLE
        # Repairs learn from windows sampled across the whole recording: read in ranges, that is hundreds of round
        # trips to the bucket, slower than one download of the master (0.8x on loopback, worse on a network).
        ranged = excerpts and not payload_asks_for_repairs(job)
        base, master = await payload_master(job, folder, in_place=excerpts, ranged=ranged)
        asset_id = base.asset_id
        edits = payload_edits(job, master)
        preview = await in_thread(
            ctx,
            preview_edits,
            master,
            edits,
            folder / "preview",
            mode=mode,
            on_progress=ctx.report_progress,
            check_cancel=ctx.raise_if_cancelled,
            on_stage=ctx.report_stage,
        )
        ctx.report_stage(JobStage.STORING)
        key = f"{preview_run_prefix(job.id, run_token(job))}/{preview.path.name}"
        await (await get_media_store()).put_file(key, preview.path, content_type=content_type(key), consume=True)
    if isinstance(master.path, RangedObject):
        logger.info(
            "job %s: read %d of the master's %d bytes in %d ranged reads",
            job.id,
            master.path.fetched_bytes,
            master.path.size_bytes,
            master.path.fetches,
        )
    logger.info(
        "job %s: %s preview of asset %s version %d written (%d segments, %.1f s)",
        job.id,
        preview.mode,
        asset_id,
        base.version,
        len(preview.segments),
        preview.duration_s,
    )
    return {
        "assetId": asset_id,
        "version": base.version,
        "previewUrl": media_url(key),
        "durationSec": preview.duration_s,
        "format": PREVIEW_ENCODING,
        "loudness": preview.loudness.to_json(),
        "mode": preview.mode,
        "segments": preview.segments_json(),
        "timelineDurationSec": preview.timeline_frames / preview.sample_rate,
        "timeSavedSec": preview.time_saved_s,
        "repairNotes": [note.to_json() for note in preview.repair_notes],
    }
