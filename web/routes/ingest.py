"""``POST /api/audio/ingest``: stream an upload to disk and queue the job that turns it into an asset."""

from __future__ import annotations

import logging

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from common.ids import new_id
from common.jobs import JobType, get_job_store
from web.errors import ApiError
from web.inputs import check_query, idempotency_key
from web.metrics import count_upload
from web.routes.jobs import created_response, poll_routes
from web.uploads import Upload, receive_upload

logger = logging.getLogger(__name__)

MAX_TITLE_CHARS = 200


def _title(upload: Upload) -> str:
    raw = upload.fields.get("title", "")
    if len(raw) > MAX_TITLE_CHARS:
        raise ApiError(400, "invalid_field", f"title: must be at most {MAX_TITLE_CHARS} characters", field="title")
    return " ".join(raw.split()) or upload.filename


async def create_ingest(request: Request) -> Response:
    check_query(request)
    key = idempotency_key(request)
    upload = await receive_upload(request, new_id())
    try:
        payload = {
            "assetId": new_id(),
            "uploadId": upload.upload_id,
            "filename": upload.filename,
            "title": _title(upload),
        }
        store = await get_job_store()
        job, created = await store.create_job(JobType.INGEST, payload, idempotency_key=key)
    except BaseException:
        await anyio.to_thread.run_sync(lambda: upload.path.unlink(missing_ok=True))
        raise
    if created:
        count_upload(upload.size_bytes)
        logger.info("job %s: ingest queued, upload %s, %d bytes", job.id, upload.upload_id, upload.size_bytes)
    else:
        # The first request with this key already has its upload; this copy would never be read.
        await anyio.to_thread.run_sync(lambda: upload.path.unlink(missing_ok=True))
        logger.info("job %s: ingest retried with the same Idempotency-Key", job.id)
    return created_response(job, created)


ROUTES = [
    Route("/api/audio/ingest", create_ingest, methods=["POST"]),
    *poll_routes("/api/audio/ingest", JobType.INGEST),
]
