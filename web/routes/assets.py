"""``GET /api/audio/assets/{assetId}``: an asset and its versions, as recorded in the store by the worker.
``DELETE`` there deletes the whole recording; ``DELETE .../versions/{version}`` one version (never the last) and
``DELETE .../renders/{jobId}`` one render. The store changes first, in one transaction; then the files go
(``common.media_cleanup``). Files a crash leaves behind are unreachable, and ``python -m workers media-gc`` removes
them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from common.assets import version_view
from common.ids import is_valid_id
from common.jobs import AssetVersion, Job, JobType
from common.media_cleanup import remove_asset_files, remove_finished_job_files, remove_version_files
from common.media_store import MediaStore, MediaStoreError, get_media_store
from web.api_docs import COMMON_ERRORS, ID_PATTERN, PathItems, error, json_content, json_response
from web.api_docs import path_id as path_id_doc
from web.errors import ApiError, invalid_request, not_found
from web.inputs import check_query, path_id
from web.routes.library import RENAME_OPERATION, rename_asset
from web.store_deadline import request_job_store

logger = logging.getLogger(__name__)

#: Version numbers in a path: more digits than this cannot be a version.
_MAX_VERSION_DIGITS = 9


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


async def _remove_files(what: str, remove: Callable[[MediaStore], Awaitable[None]]) -> None:
    """Run a file removal after the store changed; a media store error leaves unreachable files for media-gc
    rather than failing a request whose change is already made."""
    try:
        await remove(await get_media_store())
    except MediaStoreError as exc:
        logger.warning("%s: files not removed, media-gc will find them: %s", what, exc.message)


async def delete_asset(request: Request) -> Response:
    check_query(request)
    asset_id = path_id(request, "assetId", "asset")
    deleted = await (await request_job_store()).delete_asset(asset_id)
    if deleted is None:
        raise not_found(f"No asset with id {asset_id!r}.")
    await _remove_files(f"asset {asset_id}", lambda media: remove_asset_files(media, deleted))
    return JSONResponse(
        {
            "assetId": asset_id,
            "deletedVersions": [version.version for version in deleted.versions],
            "cancelledJobIds": deleted.cancelled_job_ids,
        }
    )


async def asset(request: Request) -> Response:
    if request.method == "PATCH":
        return await rename_asset(request)
    if request.method == "DELETE":
        return await delete_asset(request)
    return await get_asset(request)


def path_version(request: Request) -> int:
    value = request.path_params["version"]
    if not (value.isascii() and value.isdigit() and len(value) <= _MAX_VERSION_DIGITS and int(value) >= 1):
        raise not_found(f"No version {value[:64]!r}.")
    return int(value)


async def delete_version(request: Request) -> Response:
    check_query(request)
    asset_id = path_id(request, "assetId", "asset")
    number = path_version(request)
    store = await request_job_store()
    deleted = await store.delete_asset_version(asset_id, number)
    if deleted is None:
        raise not_found(f"Asset {asset_id!r} has no version {number}.")
    await _remove_files(f"asset {asset_id} version {number}", lambda media: remove_version_files(media, deleted))
    return await get_asset(request)


async def _asset_render(asset_id: str, job_id: str) -> Job:
    job = await (await request_job_store()).get_job(job_id)
    if job is None or job.type != JobType.RENDER or job.payload.get("assetId") != asset_id:
        raise not_found(f"Asset {asset_id!r} has no render {job_id!r}.")
    return job


async def delete_render(request: Request) -> Response:
    check_query(request)
    asset_id = path_id(request, "assetId", "asset")
    job = await _asset_render(asset_id, path_id(request, "jobId", "render"))
    store = await request_job_store()
    if not job.status.is_terminal:
        # A running render's run removes its own output once it learns of the cancel.
        await store.cancel_job(job.id)
    deleted = await store.delete_finished_job(job.id)
    if deleted is not None and job.status.is_terminal:
        await _remove_files(f"job {job.id}", lambda media: remove_finished_job_files(media, deleted))
    logger.info("job %s: render of asset %s deleted", job.id, asset_id)
    return Response(status_code=204)


ROUTES = [
    Route("/api/audio/assets/{assetId}", asset, methods=["GET", "PATCH", "DELETE"]),
    Route("/api/audio/assets/{assetId}/versions/{version}", delete_version, methods=["DELETE"]),
    Route("/api/audio/assets/{assetId}/renders/{jobId}", delete_render, methods=["DELETE"]),
]

_ASSET_ID = path_id_doc("assetId", "An asset id from an ingest result")

PATHS: PathItems = {
    "/api/audio/assets/{assetId}": {
        "get": {
            "tags": ["assets"],
            "summary": "An asset and its versions",
            "operationId": "get_asset",
            "parameters": [_ASSET_ID],
            "responses": {
                "200": json_response("The asset", "Asset"),
                "404": error("No asset with this id"),
                **COMMON_ERRORS,
            },
        },
        "patch": RENAME_OPERATION,
        "delete": {
            "tags": ["assets"],
            "summary": "Delete a recording: every version, preview and render, in the store and the media",
            "description": (
                "Its queued and running jobs are cancelled first; a job that still tries to record a version of it "
                "fails with `asset_deleted`."
            ),
            "operationId": "delete_asset",
            "parameters": [_ASSET_ID],
            "responses": {
                "200": {
                    "description": "The recording is gone",
                    "content": json_content(
                        {
                            "type": "object",
                            "required": ["assetId", "deletedVersions", "cancelledJobIds"],
                            "properties": {
                                "assetId": {"type": "string", "pattern": ID_PATTERN},
                                "deletedVersions": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                                "cancelledJobIds": {"type": "array", "items": {"type": "string"}},
                            },
                        }
                    ),
                },
                "404": error("No asset with this id (or it was deleted already)"),
                **COMMON_ERRORS,
            },
        },
    },
    "/api/audio/assets/{assetId}/versions/{version}": {
        "delete": {
            "tags": ["assets"],
            "summary": "Delete one version of a recording (not its only one) with its files",
            "operationId": "delete_asset_version",
            "parameters": [
                _ASSET_ID,
                {
                    "name": "version",
                    "in": "path",
                    "required": True,
                    "description": "A version number of the asset; any other shape is answered 404",
                    "schema": {"type": "integer", "minimum": 1},
                },
            ],
            "responses": {
                "200": json_response("The asset with its remaining versions", "Asset"),
                "404": error("No asset with this id, or no such version"),
                "409": error("The asset's only version (`last_version`): delete the asset instead"),
                **COMMON_ERRORS,
            },
        }
    },
    "/api/audio/assets/{assetId}/renders/{jobId}": {
        "delete": {
            "tags": ["assets"],
            "summary": "Delete one render of a recording: its job and its file (a running render is cancelled)",
            "operationId": "delete_asset_render",
            "parameters": [_ASSET_ID, path_id_doc("jobId", "The render job's id")],
            "responses": {
                "204": {"description": "The render is gone"},
                "404": error("No asset with this id, or no render job of it with this id"),
                **COMMON_ERRORS,
            },
        }
    },
}
