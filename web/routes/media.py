"""``GET /media/...``: the audio, peaks and render files job results point to, with HTTP Range support.

Paths are resolved by ``common.media.resolve_media_url_path``, which refuses anything outside MEDIA_ROOT
(``..``, absolute paths, symlinks leading out). Raw uploads are never served: they are client bytes of unknown
content, kept only until ingest has read them.

A peaks file can be asked for at a coarser zoom level with ``?samplesPerPixel=N`` (a multiple of the stored
resolution); ``?download=1`` asks the browser to save the file rather than play it.
"""

from __future__ import annotations

import json
import os
import stat
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, MalformedRangeHeader, RangeNotSatisfiable, Response
from starlette.routing import Route

from common.media import resolve_media_url_path
from common.peaks import rescale_peaks
from web.api_docs import PathItems, error
from web.errors import ApiError, error_response, not_found
from web.inputs import check_query

CONTENT_TYPES = {
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".mp4": "audio/mp4",
    ".aac": "audio/aac",
    ".opus": "audio/ogg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".wav": "audio/wav",
    ".webm": "audio/webm",
    ".json": "application/json",
}
UNSERVED_TOP_FOLDERS = frozenset({"uploads"})
QUERY_PARAMETERS = ("samplesPerPixel", "download")


def _media_file(relative: str) -> tuple[Path, os.stat_result]:
    if relative.split("/", 1)[0] in UNSERVED_TOP_FOLDERS:
        raise not_found("No such media file.")
    try:
        path = resolve_media_url_path(relative)
        stat_result = path.stat() if path is not None else None
    except (OSError, ValueError) as exc:
        raise not_found("No such media file.") from exc
    if path is None or stat_result is None or not stat.S_ISREG(stat_result.st_mode):
        raise not_found("No such media file.")
    return path, stat_result


def _samples_per_pixel(request: Request) -> int | None:
    raw = request.query_params.get("samplesPerPixel")
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1 or len(raw) > 9:
        raise ApiError(
            400, "invalid_parameter", "samplesPerPixel must be a positive whole number", field="samplesPerPixel"
        )
    return int(raw)


def _download(request: Request) -> bool:
    raw = request.query_params.get("download")
    if raw is None:
        return False
    if raw not in ("0", "1"):
        raise ApiError(400, "invalid_parameter", "download must be 0 or 1", field="download")
    return raw == "1"


def _rescaled_peaks(path: Path, samples_per_pixel: int) -> dict[str, Any]:
    with path.open("rb") as file:
        peaks = json.load(file)
    return rescale_peaks(peaks, samples_per_pixel)


def _range_error(request: Request, size_bytes: int) -> Response | None:
    """A JSON answer for a Range header ``FileResponse`` would refuse in plain text, else ``None``."""
    header = request.headers.get("range")
    if header is None:
        return None
    try:
        FileResponse._parse_range_header(header, size_bytes)
    except MalformedRangeHeader as exc:
        return error_response(400, "invalid_range", exc.content)
    except RangeNotSatisfiable:
        return error_response(
            416,
            "range_not_satisfiable",
            f"the range starts past the end of the file ({size_bytes} bytes)",
            headers={"Content-Range": f"bytes */{size_bytes}"},
        )
    return None


async def get_media(request: Request) -> Response:
    check_query(request, QUERY_PARAMETERS)
    download = _download(request)
    samples_per_pixel = _samples_per_pixel(request)
    path, stat_result = await anyio.to_thread.run_sync(_media_file, request.path_params["path"])
    if samples_per_pixel is not None:
        if path.suffix != ".json":
            raise ApiError(
                400, "invalid_parameter", "samplesPerPixel applies to peaks files only", field="samplesPerPixel"
            )
        try:
            peaks = await anyio.to_thread.run_sync(_rescaled_peaks, path, samples_per_pixel)
        except ValueError as exc:
            raise ApiError(400, "invalid_parameter", f"samplesPerPixel: {exc}", field="samplesPerPixel") from exc
        return JSONResponse(peaks)
    range_error = _range_error(request, stat_result.st_size)
    if range_error is not None:
        return range_error
    return FileResponse(
        path,
        media_type=CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream"),
        stat_result=stat_result,
        headers={"X-Content-Type-Options": "nosniff"} | (_attachment(path.name) if download else {}),
    )


def _attachment(name: str) -> dict[str, str]:
    """Save as ``name``: the UTF-8 form keeps accented letters, the ASCII one is for clients without RFC 6266."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = fallback.replace('"', "").replace("\\", "") or "download"
    return {"Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"}


ROUTES = [Route("/media/{path:path}", get_media, methods=["GET"])]

PATHS: PathItems = {
    "/media/{path}": {
        "get": {
            "tags": ["media"],
            "summary": "A file a job result points to (audio, peaks, render)",
            "operationId": "get_media",
            "parameters": [
                {"name": "path", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}},
                {
                    "name": "samplesPerPixel",
                    "in": "query",
                    "description": "Peaks files only: a coarser zoom level, a multiple of the stored one",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
                },
                {"name": "download", "in": "query", "schema": {"enum": ["0", "1"]}},
                {"name": "Range", "in": "header", "schema": {"type": "string", "pattern": "^bytes=[0-9]{1,12}-$"}},
            ],
            "responses": {
                "200": {"description": "The whole file", "content": {"*/*": {"schema": {}}}},
                "206": {"description": "The requested byte range", "content": {"*/*": {"schema": {}}}},
                "400": error("A malformed Range header or query parameter"),
                "404": error("No such file"),
                "416": error("The range starts past the end of the file"),
            },
        }
    }
}
