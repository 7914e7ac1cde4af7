"""``POST /api/audio/edit/preview`` and ``POST /api/audio/edit/save``: validate an edit list against the asset's
version and queue the job that executes it. The edit list is checked by ``common.edits.parse_edit_list``, the same
validator the worker runs, so a request the web accepts is one the worker can execute."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from common.edits import PREVIEW_RULE, edit_list_to_json, edit_rules_to_json, parse_edit_list, parse_preview_mode
from common.jobs import JobType
from web.api_docs import BAD_QUERY, PathItems, json_create, json_response
from web.inputs import check_fields, check_query, idempotency_key, read_json_object, request_fingerprint
from web.routes.assets import requested_asset_version
from web.routes.jobs import created_response, poll_paths, poll_routes
from web.store_deadline import request_job_store

logger = logging.getLogger(__name__)

EDIT_REQUEST_FIELDS = ("assetId", "version", "edits")
_REQUEST_FIELDS = {
    JobType.EDIT_PREVIEW: (*EDIT_REQUEST_FIELDS, PREVIEW_RULE.name),
    JobType.EDIT_SAVE: EDIT_REQUEST_FIELDS,
}


def edit_route(job_type: JobType) -> Route:
    async def create_edit_job(request: Request) -> Response:
        check_query(request)
        key = idempotency_key(request)
        body = await read_json_object(request)
        check_fields(body, _REQUEST_FIELDS[job_type], required=("assetId", "edits"))
        version = await requested_asset_version(body)
        duration_s = version.info.get("durationSec")
        edits = parse_edit_list(body["edits"], float(duration_s) if duration_s is not None else None)
        payload = {"assetId": version.asset_id, "version": version.version, "edits": edit_list_to_json(edits)}
        if job_type is JobType.EDIT_PREVIEW:
            payload[PREVIEW_RULE.name] = parse_preview_mode(body.get(PREVIEW_RULE.name))
        store = await request_job_store()
        job, created = await store.create_job(
            job_type, payload, idempotency_key=key, request_fingerprint=request_fingerprint(body)
        )
        if created:
            logger.info(
                "job %s: %s queued for asset %s version %d", job.id, job_type, version.asset_id, version.version
            )
        return created_response(job, created)

    return Route(_PATHS[job_type], create_edit_job, methods=["POST"])


async def get_edit_operations(request: Request) -> Response:
    check_query(request)
    return JSONResponse(edit_rules_to_json())


_PATHS = {JobType.EDIT_PREVIEW: "/api/audio/edit/preview", JobType.EDIT_SAVE: "/api/audio/edit/save"}
OPERATIONS_PATH = "/api/audio/edit/operations"

ROUTES = [
    Route(OPERATIONS_PATH, get_edit_operations, methods=["GET"]),
    edit_route(JobType.EDIT_PREVIEW),
    *poll_routes(_PATHS[JobType.EDIT_PREVIEW], JobType.EDIT_PREVIEW),
    edit_route(JobType.EDIT_SAVE),
    *poll_routes(_PATHS[JobType.EDIT_SAVE], JobType.EDIT_SAVE),
]

PATHS: PathItems = {
    OPERATIONS_PATH: {
        "get": {
            "tags": ["edit"],
            "summary": "The edit operations with their fields' limits and defaults, and the edit list's own bounds",
            "operationId": "get_edit_operations",
            "responses": {"200": json_response("The operations", "EditOperations"), "400": BAD_QUERY},
        }
    },
    _PATHS[JobType.EDIT_PREVIEW]: json_create(
        "edit.preview", "Queue a preview of an edit list (in context, or whole)", "EditPreviewRequest"
    ),
    **poll_paths(_PATHS[JobType.EDIT_PREVIEW], "edit.preview", "edit preview"),
    _PATHS[JobType.EDIT_SAVE]: json_create("edit.save", "Save an edit list as a new asset version", "EditRequest"),
    **poll_paths(_PATHS[JobType.EDIT_SAVE], "edit.save", "edit save"),
}
