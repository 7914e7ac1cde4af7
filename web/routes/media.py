"""``GET /media/<key>``: the audio, peaks and render objects job results point to, with HTTP Range support.

The decision is made on the key as the app receives it, already percent-decoded once by the server
(``common.media.served_key``): a key with a ``.``/``..``/empty segment, a backslash, a NUL or any control
character is refused outright (no object the API hands out is named so, and no key has a second spelling), and
only keys under ``assets/`` (masters and peaks), ``previews/`` and ``renders/`` are served. Raw uploads never are:
they are client bytes of unknown content, kept only until ingest has read them. Access rules (``web.auth``) have
been checked before any of this runs.

How the bytes flow depends on the media store:
- local: the file is served as it is (a key reached through a symlink is not), with Range (206);
- s3: a 307 redirect to a presigned URL valid for ``PRESIGNED_URL_EXPIRES_S``, so the bytes flow from the bucket,
  not through this process; with ``MEDIA_S3_PROXY=1`` (buckets browsers cannot reach) and for ``?download=1``
  (a presigned URL here cannot carry ``Content-Disposition``) the web streams the object itself, with Range.

A peaks object can be asked for at a coarser zoom level with ``?samplesPerPixel=N`` (a multiple of the stored
resolution), rescaled off the event loop and cached (``web.peaks_cache``); ``?download=1`` asks the browser to
save the file rather than play it.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import anyio
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    MalformedRangeHeader,
    RangeNotSatisfiable,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from common.media import content_type, file_name, served_key
from common.media_store import InvalidMediaKey, MediaNotFound, MediaStore, MediaStream, get_media_store
from web.api_docs import PathItems, error
from web.compression import PeaksCompressionMiddleware
from web.errors import ApiError, error_response, not_found
from web.inputs import check_query

#: How long a presigned URL handed out by a redirect stays valid. A player may go on seeking (Range requests) on the
#: URL it was redirected to, so it lasts an editing session; a leaked one still stops working within the hour.
PRESIGNED_URL_EXPIRES_S = 3600.0
QUERY_PARAMETERS = ("samplesPerPixel", "download")
_NO_SNIFF = {"X-Content-Type-Options": "nosniff"}


def s3_proxy() -> bool:
    """``MEDIA_S3_PROXY=1``: stream s3 objects through the web instead of redirecting to the bucket."""
    return os.environ.get("MEDIA_S3_PROXY", "").strip() == "1"


def _local_file(path: Path) -> os.stat_result:
    try:
        stat_result = path.stat()
    except OSError as exc:
        raise not_found("No such media file.") from exc
    if not stat.S_ISREG(stat_result.st_mode):
        raise not_found("No such media file.")
    return stat_result


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


def _ranges(request: Request, size_bytes: int) -> list[tuple[int, int]] | Response:
    """The Range header's ranges (``start``, ``end`` exclusive; ``[]`` for the whole object), or the JSON answer
    for one that is refused (400 malformed, 416 past the end)."""
    header = request.headers.get("range")
    if header is None:
        return []
    try:
        return FileResponse._parse_range_header(header, size_bytes)
    except MalformedRangeHeader as exc:
        return error_response(400, "invalid_range", exc.content)
    except RangeNotSatisfiable:
        return error_response(
            416,
            "range_not_satisfiable",
            f"the range starts past the end of the file ({size_bytes} bytes)",
            headers={"Content-Range": f"bytes */{size_bytes}"},
        )


def _disposition(key: str, download: bool) -> dict[str, str]:
    """Save as the key's last segment: the UTF-8 form keeps accented letters, the ASCII one is for clients without
    RFC 6266."""
    if not download:
        return {}
    name = file_name(key)
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = fallback.replace('"', "").replace("\\", "") or "download"
    return {"Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"}


async def _peaks(request: Request, store: MediaStore, key: str, samples_per_pixel: int) -> Response:
    if not key.endswith(".json"):
        raise ApiError(400, "invalid_parameter", "samplesPerPixel applies to peaks files only", field="samplesPerPixel")
    try:
        peaks_json = await request.app.state.rescaled_peaks.get(store, key, samples_per_pixel)
    except ValueError as exc:
        raise ApiError(400, "invalid_parameter", f"samplesPerPixel: {exc}", field="samplesPerPixel") from exc
    return Response(peaks_json, media_type="application/json")


async def _serve_file(request: Request, key: str, path: Path, download: bool) -> Response:
    stat_result = await anyio.to_thread.run_sync(_local_file, path)
    ranges = _ranges(request, stat_result.st_size)
    if isinstance(ranges, Response):
        return ranges
    return FileResponse(
        path,
        media_type=content_type(key),
        stat_result=stat_result,
        headers={**_NO_SNIFF, **_disposition(key, download)},
    )


async def _stream_object(request: Request, store: MediaStore, key: str, download: bool) -> Response:
    """The object's bytes through this process: the whole object, or the one range asked for (206). Several
    ranges are answered with the whole object, as HTTP allows."""
    info = await store.head(key)
    ranges = _ranges(request, info.size_bytes)
    if isinstance(ranges, Response):
        return ranges
    headers = {**_NO_SNIFF, "Accept-Ranges": "bytes", **_disposition(key, download)}
    if info.etag:
        headers["ETag"] = info.etag
    if len(ranges) == 1:
        start, end = ranges[0]
        stream = await store.get_stream(key, start=start, end=end)
        headers["Content-Range"] = f"bytes {stream.start}-{stream.end - 1}/{stream.info.size_bytes}"
        status_code = 206
    else:
        stream = await store.get_stream(key)
        status_code = 200
    headers["Content-Length"] = str(stream.length_bytes)
    return StreamingResponse(_chunks(stream), status_code=status_code, media_type=content_type(key), headers=headers)


async def _chunks(stream: MediaStream) -> AsyncIterator[bytes]:
    async with stream:
        async for chunk in stream.chunks:
            yield chunk


async def get_media(request: Request) -> Response:
    check_query(request, QUERY_PARAMETERS)
    download = _download(request)
    samples_per_pixel = _samples_per_pixel(request)
    key = served_key(request.path_params["path"])
    if key is None:
        raise not_found("No such media file.")
    store = await get_media_store()
    try:
        if samples_per_pixel is not None:
            return await _peaks(request, store, key, samples_per_pixel)
        path = await store.local_path(key)
        if path is not None:
            return await _serve_file(request, key, path, download)
        # Peaks pass through this process even on s3, so they are sent compressed (``web.compression``).
        if download or s3_proxy() or key.endswith(".json"):
            return await _stream_object(request, store, key, download)
        await store.head(key)
        url = await store.presigned_get_url(key, expires_s=PRESIGNED_URL_EXPIRES_S)
    except (MediaNotFound, InvalidMediaKey, OSError) as exc:
        raise not_found("No such media file.") from exc
    if url is None:
        return await _stream_object(request, store, key, download)
    return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})


# Compression wraps this route alone, so no other route (polls least of all) passes through it.
ROUTES = [Route("/media/{path:path}", get_media, methods=["GET"], middleware=[Middleware(PeaksCompressionMiddleware)])]

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
                "307": {"description": "s3 media store: a short-lived presigned URL of the object in the bucket"},
                "400": error("A malformed Range header or query parameter"),
                "404": error("No such file"),
                "416": error("The range starts past the end of the file"),
            },
        }
    }
}
