"""The ``edit.save`` job: an edit list applied to a version becomes the asset's next version."""

from __future__ import annotations

import logging

from common.assets import NewAssetVersion
from common.audio.editing import save_edited_version
from common.edits import edit_list_to_json
from common.jobs import Job
from common.media import asset_run_prefix
from common.stages import JobStage
from workers.handler_protocol import JobContext
from workers.payloads import payload_edits, payload_master, run_token, store_version
from workers.scratch import in_thread, scratch_folder

logger = logging.getLogger(__name__)


async def handle_edit_save(job: Job, ctx: JobContext) -> NewAssetVersion:
    async with scratch_folder(job.id) as folder:
        base, master = await payload_master(job, folder)
        asset_id = base.asset_id
        edits = payload_edits(job, master)
        files = await in_thread(
            ctx,
            save_edited_version,
            master,
            edits,
            folder / "version",
            on_progress=ctx.report_progress,
            check_cancel=ctx.raise_if_cancelled,
            on_stage=ctx.report_stage,
        )
        ctx.report_stage(JobStage.STORING)
        info = await store_version(
            files,
            asset_run_prefix(asset_id, job.id, run_token(job)),
            source_format="flac",
            source_codec="flac",
            title=base.info.get("title", ""),
            baseVersion=base.version,
            edits=edit_list_to_json(edits),
            timeSavedSec=files.time_saved_s,
            repairNotes=[note.to_json() for note in files.repair_notes],
        )
    logger.info("job %s: edits to asset %s version %d saved, recorded on completion", job.id, asset_id, base.version)
    return NewAssetVersion(asset_id, info)
