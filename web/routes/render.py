"""``POST /api/render``: validate render options (``common.render_options``, shared with the worker) and queue the
render of one asset version. ``GET /api/render/presets``: the presets and formats those options may name."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from common.jobs import JobType
from common.render_options import (
    RENDER_OPTION_NAMES,
    parse_render_options,
    render_catalogue_to_json,
    render_options_to_json,
)
from web.api_docs import BAD_QUERY, PathItems, json_create, json_response
from web.inputs import check_fields, check_query, idempotency_key, read_json_object, request_fingerprint
from web.routes.assets import requested_asset_version
from web.routes.jobs import created_response, poll_paths, poll_routes
from web.store_deadline import request_job_store

logger = logging.getLogger(__name__)

ASSET_FIELDS = ("assetId", "version")


async def create_render(request: Request) -> Response:
    check_query(request)
    key = idempotency_key(request)
    body = await read_json_object(request)
    check_fields(body, (*ASSET_FIELDS, *RENDER_OPTION_NAMES), required=("assetId",))
    version = await requested_asset_version(body)
    options = parse_render_options({name: value for name, value in body.items() if name not in ASSET_FIELDS})
    payload = {"assetId": version.asset_id, "version": version.version, **render_options_to_json(options)}
    store = await request_job_store()
    job, created = await store.create_job(
        JobType.RENDER, payload, idempotency_key=key, request_fingerprint=request_fingerprint(body)
    )
    if created:
        logger.info(
            "job %s: render to %s queued for asset %s version %d",
            job.id,
            options.format,
            version.asset_id,
            version.version,
        )
    return created_response(job, created)


async def get_render_presets(request: Request) -> Response:
    check_query(request)
    return JSONResponse(render_catalogue_to_json())


class PathOwningRoute(Route):
    """A route that keeps its path for every method, answering 405 for those it lacks, rather than letting a later
    route take it: ``DELETE /api/render/presets`` would otherwise cancel a job named ``presets``."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        return (Match.FULL if match is Match.PARTIAL else match), child_scope


ROUTES = [
    Route("/api/render", create_render, methods=["POST"]),
    # Before the poll routes, whose /api/render/{jobId} would take "presets" for a job id.
    PathOwningRoute("/api/render/presets", get_render_presets, methods=["GET"]),
    *poll_routes("/api/render", JobType.RENDER),
]

PATHS: PathItems = {
    "/api/render": json_create("render", "Queue a render of an asset version", "RenderRequest"),
    "/api/render/presets": {
        "get": {
            "tags": ["render"],
            "summary": "The render presets with their targets, the formats with their bitrates, the tags' limits",
            "operationId": "get_render_presets",
            "responses": {"200": json_response("The presets and formats", "RenderCatalogue"), "400": BAD_QUERY},
        }
    },
    **poll_paths("/api/render", "render", "render"),
}
