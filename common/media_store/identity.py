"""One media store for every process: the first process records the media store's id in the job store, and a
process whose media store has another id refuses to start, before it takes a request or a job."""

from __future__ import annotations

import logging

from common.errors import ConfigurationError
from common.jobs.store import JobStore
from common.media_store.store import MediaStore

logger = logging.getLogger(__name__)


async def check_media_identity(job_store: JobStore, media_store: MediaStore) -> None:
    """Record ``media_store``'s id in ``job_store`` if none is recorded yet; raise ``ConfigurationError`` (code
    ``media_store_mismatch``) when another id is recorded there."""
    recorded = await job_store.record_media_store_id(media_store.store_id)
    if recorded != media_store.store_id:
        raise ConfigurationError(
            f"this process's media store ({media_store.configured_by}, store id {media_store.store_id}) is not the one "
            f"the job store {job_store.location} is used with (store id {recorded}): web and worker would see "
            "different media. Set MEDIA_BACKEND and S3_BUCKET, or MEDIA_ROOT, to the media store the other "
            "processes use",
            code="media_store_mismatch",
        )
    logger.info(
        "media store %s (id %s) matches job store %s (id %s)",
        media_store.location,
        media_store.store_id,
        job_store.location,
        job_store.store_id,
    )
