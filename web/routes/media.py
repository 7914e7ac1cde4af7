"""``GET /media/...``: the audio, peaks and render files job results point to, with HTTP Range support.

The decision is made on the path as the app receives it, already percent-decoded once by the server: a path with
a ``.`` or ``..`` or empty segment, a backslash or a NUL is refused outright (no file the API hands out is named
so), then ``common.media.resolve_media_url_path`` resolves it (refusing anything outside MEDIA_ROOT, symlinks
included) and only a file whose resolved place is under one of ``SERVED_TOP_FOLDERS`` is served: masters and peaks
(``assets``), previews and renders. Raw uploads are never served: they are client bytes of unknown content, kept
only until ingest has read them, and no spelling of their path reaches them.

A peaks file can be asked for at a coarser zoom level with ``?samplesPerPixel=N`` (a multiple of the stored
resolution), rescaled off the event loop and cached (``web.peaks_cache``); ``?download=1`` asks the browser to
save the file rather than play it.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path
from urllib.parse import quote

import anyio
from starlette.requests import Request
from starlette.responses import FileResponse, MalformedRangeHeader, RangeNotSatisfiable, Response
from starlette.routing import Route

from common.config import media_root
from common.media import resolve_media_url_path
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
SERVED_TOP_FOLDERS = frozenset({"assets", "previews", "renders"})
_REFUSED_SEGMENTS = frozenset({"", ".", ".."})
_REFUSED_CHARACTERS = ("\\", "\x00")
QUERY_PARAMETERS = ("samplesPerPixel", "download")


def _is_plain_relative_path(relative: str) -> bool:
    return not any(char in relative for char in _REFUSED_CHARACTERS) and not any(
        segment in _REFUSED_SEGMENTS for segment in relative.split("/")
    )


def _is_served(path: Path) -> bool:
    parts = path.relative_to(media_root().resolve()).parts
    return len(parts) > 1 and parts[0] in SERVED_TOP_FOLDERS


def _media_file(relative: str) -> tuple[Path, os.stat_result]:
    if not _is_plain_relative_path(relative):
        raise not_found("No such media file.")
    try:
        path = resolve_media_url_path(relative)
        if path is None or not _is_served(path):
            raise not_found("No such media file.")
        stat_result = path.stat()
    except (OSError, ValueError) as exc:
        raise not_found("No such media file.") from exc
    if not stat.S_ISREG(stat_result.st_mode):
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
            peaks_json = await request.app.state.rescaled_peaks.get(path, stat_result, samples_per_pixel)
        except ValueError as exc:
            raise ApiError(400, "invalid_parameter", f"samplesPerPixel: {exc}", field="samplesPerPixel") from exc
        return Response(peaks_json, media_type="application/json")
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
