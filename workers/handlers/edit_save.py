"""The ``edit.save`` job: an edit list applied to a version becomes the asset's next version."""

from __future__ import annotations

import logging

from common.assets import NewAssetVersion
from common.audio.editing import save_edited_version
from common.edits import edit_list_to_json
from common.jobs import Job
from common.media import asset_run_dir
from workers.context import JobContext
from workers.handlers.assets import payload_edits, payload_master, run_token, version_info

logger = logging.getLogger(__name__)


async def handle_edit_save(job: Job, ctx: JobContext) -> NewAssetVersion:
    base, master = await payload_master(job)
    asset_id = base.asset_id
    edits = payload_edits(job, master)
    files = await ctx.run_in_thread(
        save_edited_version,
        master,
        edits,
        asset_run_dir(asset_id, job.id, run_token(job)),
        on_progress=ctx.report_progress,
        check_cancel=ctx.raise_if_cancelled,
    )
    info = version_info(
        files,
        source_format="flac",
        source_codec="flac",
        title=base.info.get("title", ""),
        baseVersion=base.version,
        edits=edit_list_to_json(edits),
    )
    logger.info("job %s: edits to asset %s version %d saved, recorded on completion", job.id, asset_id, base.version)
    return NewAssetVersion(asset_id, info)
