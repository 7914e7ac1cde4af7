"""The ``edit.save`` job: an edit list applied to a version becomes the asset's next version."""

from __future__ import annotations

import logging
from typing import Any

from common.assets import version_result
from common.audio.editing import save_edited_version
from common.edits import edit_list_to_json
from common.jobs import Job, get_job_store
from common.media import asset_job_dir
from workers.context import JobContext
from workers.handlers.assets import payload_edits, payload_master, version_info

logger = logging.getLogger(__name__)


async def handle_edit_save(job: Job, ctx: JobContext) -> dict[str, Any]:
    base, master = await payload_master(job)
    asset_id = base.asset_id
    edits = payload_edits(job, master)
    files = await ctx.run_in_thread(
        save_edited_version,
        master,
        edits,
        asset_job_dir(asset_id, job.id),
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
    version = await (await get_job_store()).add_asset_version(asset_id, job.id, info)
    logger.info("job %s: asset %s version %d saved from version %d", job.id, asset_id, version.version, base.version)
    return version_result(version)
