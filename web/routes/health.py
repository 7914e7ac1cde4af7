"""``GET /healthz``: the process is up and which job and media stores it uses (so a web and a worker can be seen to
share them), open to anyone. How many jobs the store holds in each status and type, and the media storage used and
free, are shown only to a request that may read ``/api`` (``web.auth.is_authorized``: the bearer token or the
session cookie); without it the check does not touch the store at all."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from common.jobs import JobStatus, JobStore
from common.media_store import MediaStore, get_media_store
from web.api_docs import COMMON_ERRORS, PathItems, json_response
from web.auth import is_authorized
from web.inputs import check_query
from web.store_deadline import request_job_store


async def healthz(request: Request) -> Response:
    check_query(request)
    store = await request_job_store()
    media = await get_media_store()
    body: dict[str, Any] = {
        "status": "ok",
        "store": {"backend": store.backend, "storeId": store.store_id},
        "mediaStore": {"backend": media.backend, "storeId": media.store_id},
    }
    if is_authorized(request.scope, request.app.state.sessions):
        body.update(await _job_counts(store))
        body["storage"] = await _storage(media)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def _storage(media: MediaStore) -> dict[str, int | None]:
    """``usedBytes`` by the media store's account (kept in the job store: no listing); ``freeBytes`` the room left
    for writes: the disk's free space (local) and ``MEDIA_MAX_BYTES`` headroom, the smaller of those known, null
    when neither is (a bucket with no limit); ``limitBytes`` is ``MEDIA_MAX_BYTES`` or null."""
    return {
        "usedBytes": await media.used_bytes(),
        "freeBytes": await media.free_bytes(),
        "limitBytes": media.limit_bytes,
    }


async def _job_counts(store: JobStore) -> dict[str, Any]:
    counts = await store.count_jobs()
    by_status = {status.value: 0 for status in JobStatus}
    for statuses in counts.values():
        for status, count in statuses.items():
            by_status[status] = by_status.get(status, 0) + count
    return {"jobs": by_status, "jobsByType": counts}


ROUTES = [Route("/healthz", healthz, methods=["GET"])]

PATHS: PathItems = {
    "/healthz": {
        "get": {
            "tags": ["health"],
            "summary": "Liveness, the job and media stores' backends and identities, and job counts",
            "operationId": "healthz",
            "security": [],
            "responses": {"200": json_response("Up", "Health"), **COMMON_ERRORS},
        }
    }
}
