"""``POST /api/audio/ingest``: stream an upload into the media store and queue the job that turns it into an asset."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from common.ids import new_id
from common.jobs import JobType
from common.media_store import get_media_store
from common.text import disallowed_character
from web.api_docs import IDEMPOTENCY_KEY, PathItems, create_responses, error, ref
from web.errors import ApiError
from web.inputs import check_query, idempotency_key, request_fingerprint
from web.metrics import count_upload
from web.routes.jobs import created_response, poll_paths, poll_routes
from web.store_deadline import request_job_store
from web.uploads import Upload, receive_upload

logger = logging.getLogger(__name__)

MAX_TITLE_CHARS = 200


def clean_title(raw: str) -> str:
    """The one rule for a recording's title (given at ingest or by a rename): held to the rule render tags follow
    (``common.text``), runs of whitespace become one space; empty when ``raw`` holds nothing else."""
    if len(raw) > MAX_TITLE_CHARS:
        raise ApiError(400, "invalid_field", f"title: must be at most {MAX_TITLE_CHARS} characters", field="title")
    refused_character = disallowed_character(raw)
    if refused_character is not None:
        raise ApiError(400, "invalid_field", f"title: must not contain {refused_character}", field="title")
    return " ".join(raw.split())


def _title(upload: Upload) -> str:
    return clean_title(upload.fields.get("title", "")) or _title_from_filename(upload.filename)


def _title_from_filename(filename: str) -> str:
    """The file's name without its extension ("Episode 3.mp3" is titled "Episode 3")."""
    stem, dot, extension = filename.rpartition(".")
    return stem if dot and stem.strip() and extension else filename


async def _remove_upload(upload: Upload) -> None:
    # Shielded: a cancelled request must still not leave an upload no job will read.
    await asyncio.shield((await get_media_store()).delete(upload.key))


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
        store = await request_job_store()
        fingerprint = request_fingerprint([upload.sha256, upload.filename, upload.fields])
        job, created = await store.create_job(
            JobType.INGEST, payload, idempotency_key=key, request_fingerprint=fingerprint
        )
    except BaseException:
        await _remove_upload(upload)
        raise
    if created:
        count_upload(upload.size_bytes)
        logger.info("job %s: ingest queued, upload %s, %d bytes", job.id, upload.upload_id, upload.size_bytes)
    else:
        # The first request with this key already has its upload; this copy would never be read.
        await _remove_upload(upload)
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
                    "422": error("The Idempotency-Key was used before with a different upload"),
                    "507": error("The upload does not fit (MEDIA_MAX_BYTES, or a full disk); nothing of it was kept"),
                }
            ),
        }
    },
    **poll_paths("/api/audio/ingest", "ingest", "ingest"),
}
