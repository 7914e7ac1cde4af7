"""The recordings library: ``GET /api/audio/assets`` lists assets newest first, a page at a time, and ``PATCH
/api/audio/assets/{assetId}`` renames one (served by ``web.routes.assets``, which owns that path)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from common.jobs import AssetCursor, AssetSummary
from common.jobs.poll import iso_utc
from web.api_docs import COMMON_ERRORS, ID_PATTERN, PathItems, error, json_content
from web.api_docs import path_id as path_id_doc
from web.errors import ApiError, invalid_request, not_found
from web.inputs import check_fields, check_query, path_id, read_json_object
from web.routes.ingest import MAX_TITLE_CHARS, clean_title
from web.store_deadline import request_job_store

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


def summary_view(summary: AssetSummary) -> dict[str, Any]:
    """One entry of the library, as the list and the rename answer it."""
    return {
        "assetId": summary.asset_id,
        "title": summary.title,
        "createdAt": iso_utc(summary.created_at),
        "updatedAt": iso_utc(summary.updated_at),
        "versions": summary.versions,
        "latestVersion": summary.latest_version,
        "durationSec": summary.duration_s,
        "loudness": summary.loudness,
        "storageBytes": summary.storage_bytes,
    }


def _page_size(request: Request) -> int:
    value = request.query_params.get("limit")
    if value is None:
        return DEFAULT_PAGE_SIZE
    if not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_PAGE_SIZE):
        raise ApiError(
            400, "invalid_parameter", f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}", field="limit"
        )
    return int(value)


def _cursor(request: Request) -> AssetCursor | None:
    value = request.query_params.get("cursor")
    if value is None:
        return None
    cursor = AssetCursor.from_text(value)
    if cursor is None:
        raise ApiError(400, "invalid_parameter", "cursor must be a nextCursor this route answered", field="cursor")
    return cursor


async def list_assets(request: Request) -> Response:
    check_query(request, ("limit", "cursor"))
    limit = _page_size(request)
    cursor = _cursor(request)
    store = await request_job_store()
    # One more than asked tells whether another page follows without a second query.
    summaries = await store.list_assets(limit=limit + 1, before=cursor)
    page = summaries[:limit]
    next_cursor = page[-1].cursor.to_text() if len(summaries) > limit else None
    return JSONResponse(
        {"assets": [summary_view(summary) for summary in page], "nextCursor": next_cursor},
        headers={"Cache-Control": "no-store"},
    )


async def rename_asset(request: Request) -> Response:
    check_query(request)
    asset_id = path_id(request, "assetId", "asset")
    body = await read_json_object(request)
    check_fields(body, ("title",), ("title",))
    raw = body["title"]
    if not isinstance(raw, str):
        raise invalid_request("title", "must be a string")
    title = clean_title(raw)
    if not title:
        raise invalid_request("title", "must hold a visible character")
    store = await request_job_store()
    summary = await store.rename_asset(asset_id, title)
    if summary is None:
        raise not_found(f"No asset with id {asset_id!r}.")
    return JSONResponse(summary_view(summary), headers={"Cache-Control": "no-store"})


ROUTES = [Route("/api/audio/assets", list_assets, methods=["GET"])]

_TIME = {"type": "string", "format": "date-time"}
ASSET_SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "assetId",
        "title",
        "createdAt",
        "updatedAt",
        "versions",
        "latestVersion",
        "durationSec",
        "loudness",
        "storageBytes",
    ],
    "properties": {
        "assetId": {"type": "string", "pattern": ID_PATTERN},
        "title": {"type": "string"},
        "createdAt": _TIME,
        "updatedAt": _TIME,
        "versions": {"type": "integer", "minimum": 1},
        "latestVersion": {"type": "integer", "minimum": 1},
        "durationSec": {"type": ["number", "null"]},
        "loudness": {"type": ["object", "null"]},
        "storageBytes": {
            "type": "integer",
            "minimum": 0,
            "description": "Bytes of the masters and peaks of every version, as recorded when each was made",
        },
    },
}

RENAME_OPERATION: dict[str, Any] = {
    "tags": ["assets"],
    "summary": "Rename an asset (its versions keep the title they were made with)",
    "operationId": "rename_asset",
    "parameters": [path_id_doc("assetId", "An asset id from an ingest result")],
    "requestBody": {
        "required": True,
        "content": json_content(
            {
                "type": "object",
                "required": ["title"],
                "additionalProperties": False,
                "properties": {"title": {"type": "string", "maxLength": MAX_TITLE_CHARS, "pattern": r"\S"}},
            }
        ),
    },
    "responses": {
        "200": {"description": "The renamed asset", "content": json_content(ASSET_SUMMARY_SCHEMA)},
        "400": error("A title over the length limit, malformed JSON or a bad query parameter"),
        "404": error("No asset with this id"),
        "413": error("The JSON body is over the size limit"),
        "415": error("The body is not application/json"),
        "422": error("No title, a title that is not a string or holds only whitespace, or an unknown field"),
        **COMMON_ERRORS,
    },
}

PATHS: PathItems = {
    "/api/audio/assets": {
        "get": {
            "tags": ["assets"],
            "summary": "The recordings library: assets newest first, a page at a time",
            "operationId": "list_assets",
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE},
                },
                {
                    "name": "cursor",
                    "in": "query",
                    "description": "The nextCursor of the previous page",
                    "schema": {"type": "string", "pattern": "^[0-9]{1,15}-[0-9a-f]{32}$"},
                },
            ],
            "responses": {
                "200": {
                    "description": "One page of the library; nextCursor is null on the last",
                    "content": json_content(
                        {
                            "type": "object",
                            "required": ["assets", "nextCursor"],
                            "properties": {
                                "assets": {"type": "array", "items": ASSET_SUMMARY_SCHEMA},
                                "nextCursor": {"type": ["string", "null"]},
                            },
                        }
                    ),
                },
                **COMMON_ERRORS,
            },
        }
    }
}
