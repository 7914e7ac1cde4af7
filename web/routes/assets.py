"""``GET /api/audio/assets/{assetId}``: an asset and its versions, as recorded in the store by the worker."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from common.assets import version_view
from common.ids import is_valid_id
from common.jobs import AssetVersion
from web.api_docs import COMMON_ERRORS, PathItems, error, json_response
from web.api_docs import path_id as path_id_doc
from web.errors import ApiError, invalid_request, not_found
from web.inputs import check_query, path_id
from web.routes.library import RENAME_OPERATION, rename_asset
from web.store_deadline import request_job_store


async def asset_versions(asset_id: str) -> list[AssetVersion]:
    """The asset's versions, oldest first; 404 for an id nobody issued or an asset with no version yet."""
    if not is_valid_id(asset_id):
        raise not_found(f"No asset with id {asset_id[:64]!r}.")
    store = await request_job_store()
    versions = await store.get_asset_versions(asset_id)
    if not versions:
        raise not_found(f"No asset with id {asset_id!r}.")
    return versions


async def asset_version(asset_id: str, version: int | None) -> AssetVersion:
    """The named version of an asset (the latest when ``version`` is ``None``); 422 for a version it lacks."""
    versions = await asset_versions(asset_id)
    if version is None:
        return versions[-1]
    for candidate in versions:
        if candidate.version == version:
            return candidate
    raise ApiError(
        422,
        "unknown_version",
        f"version: asset {asset_id} has no version {version} (it has 1 to {versions[-1].version})",
        field="version",
    )


async def requested_asset_version(body: dict[str, Any]) -> AssetVersion:
    """The asset version a create request's ``assetId`` and optional ``version`` name (``null``: the latest)."""
    asset_id = body.get("assetId")
    if not isinstance(asset_id, str):
        raise invalid_request("assetId", "must be a string")
    version = body.get("version")
    # JSON does not tell 2 from 2.0; JSON Schema counts both as integers, so both name version 2.
    if isinstance(version, float) and version.is_integer():
        version = int(version)
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise invalid_request("version", "must be a whole number of at least 1")
    return await asset_version(asset_id, version)


async def get_asset(request: Request) -> Response:
    check_query(request)
    asset_id = path_id(request, "assetId", "asset")
    versions = await asset_versions(asset_id)
    summary = await (await request_job_store()).get_asset_summary(asset_id)
    title = summary.title if summary is not None else ""
    return JSONResponse(
        {
            "assetId": asset_id,
            "title": title,
            "latestVersion": versions[-1].version,
            "versions": [version_view(version) for version in versions],
        },
        headers={"Cache-Control": "no-store"},
    )


async def asset(request: Request) -> Response:
    return await (rename_asset(request) if request.method == "PATCH" else get_asset(request))


ROUTES = [Route("/api/audio/assets/{assetId}", asset, methods=["GET", "PATCH"])]

PATHS: PathItems = {
    "/api/audio/assets/{assetId}": {
        "get": {
            "tags": ["assets"],
            "summary": "An asset and its versions",
            "operationId": "get_asset",
            "parameters": [path_id_doc("assetId", "An asset id from an ingest result")],
            "responses": {
                "200": json_response("The asset", "Asset"),
                "404": error("No asset with this id"),
                **COMMON_ERRORS,
            },
        },
        "patch": RENAME_OPERATION,
    }
}
