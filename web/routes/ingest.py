"""``POST /api/audio/ingest``: stream an upload to disk and queue the job that turns it into an asset."""

from __future__ import annotations

import logging

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from common.ids import new_id
from common.jobs import JobType, get_job_store
from web.api_docs import IDEMPOTENCY_KEY, PathItems, create_responses, error, ref
from web.errors import ApiError
from web.inputs import check_query, idempotency_key
from web.routes.jobs import created_response, poll_paths, poll_routes
from web.uploads import Upload, receive_upload

logger = logging.getLogger(__name__)

MAX_TITLE_CHARS = 200


def _title(upload: Upload) -> str:
    raw = upload.fields.get("title", "")
    if len(raw) > MAX_TITLE_CHARS:
        raise ApiError(400, "invalid_field", f"title: must be at most {MAX_TITLE_CHARS} characters", field="title")
    return " ".join(raw.split()) or _title_from_filename(upload.filename)


def _title_from_filename(filename: str) -> str:
    """The file's name without its extension ("Episode 3.mp3" is titled "Episode 3")."""
    stem, dot, extension = filename.rpartition(".")
    return stem if dot and stem.strip() and extension else filename


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

PATHS: PathItems = {
    "/api/audio/ingest": {
        "post": {
            "tags": ["ingest"],
            "summary": "Upload a recording and queue its ingest",
            "operationId": "create_ingest",
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": ref("IngestForm")}}},
            "responses": create_responses(
                {
                    "400": error("No `file` field, an empty file, an unknown field or a malformed body"),
                    "413": error("The file is over MAX_UPLOAD_BYTES"),
                    "415": error("The body is not multipart/form-data"),
                }
            ),
        }
    },
    **poll_paths("/api/audio/ingest", "ingest", "ingest"),
}
