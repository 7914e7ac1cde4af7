"""``GET /api/audio/assets/{assetId}/versions/{version}/peaks?start=&end=&samplesPerPixel=``: peaks of a span of a
version at any resolution down to one frame per pixel, decoded from its master (``common.span_peaks``), for the
page zoomed in past the stored peaks. ``GET /api/audio/peak-spans`` gives the limits (``common.peaks``).

The web decodes here rather than queueing a job: a span is at most ``MAX_SPAN_S`` of FLAC read with a seek (tens
of milliseconds), on a thread with a per-process limit, so the request answers at once like any other, where a job
would wait behind renders in the worker's queue and leave a row in the store for every scroll. The page aborts a
request when its view moves on: the decode then stops between frames and frees its slot (``web.disconnect``), and
the abandoned request is logged and answered 499 into the closed connection, which drops it.
"""

from __future__ import annotations

import logging

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from common.media import key_of_media_url
from common.media_store import MediaNotFound, get_media_store
from common.peaks import SPAN_RULES, PeakSpanError, parse_peak_span, span_limits_to_json
from common.span_peaks import SpanAbandoned
from web.api_docs import COMMON_ERRORS, PathItems, error, json_content
from web.api_docs import path_id as path_id_doc
from web.compression import PeaksCompressionMiddleware
from web.disconnect import disconnect_event
from web.errors import ApiError, error_response, not_found
from web.inputs import check_query, path_id
from web.routes.assets import asset_versions, path_version

logger = logging.getLogger(__name__)

SPAN_PATH = "/api/audio/assets/{assetId}/versions/{version}/peaks"
LIMITS_PATH = "/api/audio/peak-spans"
#: A version's audio never changes: the browser may keep a span's peaks for the session.
_CACHE_CONTROL = "private, max-age=3600"


async def get_span_peaks(request: Request) -> Response:
    check_query(request, [rule.name for rule in SPAN_RULES])
    asset_id = path_id(request, "assetId", "asset")
    number = path_version(request)
    version = next((v for v in await asset_versions(asset_id) if v.version == number), None)
    if version is None:
        raise not_found(f"Asset {asset_id!r} has no version {number}.")
    info = version.info
    master_key = key_of_media_url(str(info.get("audioUrl") or ""))
    sample_rate, duration_s = info.get("sampleRate"), info.get("durationSec")
    frames = info.get("frames")
    # Versions recorded before ``frames`` was kept know their length only in seconds.
    if frames is None and isinstance(duration_s, int | float) and isinstance(sample_rate, int):
        frames = round(duration_s * sample_rate)
    if master_key is None or not isinstance(frames, int) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise not_found(f"Version {number} of asset {asset_id!r} has no master to read peaks from.")
    try:
        span = parse_peak_span(dict(request.query_params), sample_rate=sample_rate, frames=frames)
    except PeakSpanError as exc:
        raise ApiError(400, exc.code, exc.message, field=exc.field) from exc
    store = await get_media_store()
    try:
        with disconnect_event(request.receive) as client_gone:
            body = await request.app.state.rescaled_peaks.get_span(store, master_key, span, stop=client_gone)
    except MediaNotFound as exc:
        raise not_found(f"Version {number} of asset {asset_id!r} has no master to read peaks from.") from exc
    except SpanAbandoned as exc:
        logger.info(
            "span peaks of asset %s version %d abandoned, the client went away: frames %d-%d at %d per pixel, "
            "stopped after decoding %d",
            asset_id,
            number,
            span.start_frame,
            span.end_frame,
            span.samples_per_pixel,
            exc.decoded_frames,
        )
        return error_response(499, "client_closed_request", "The client went away before the span was decoded.")
    return Response(body, media_type="application/json", headers={"Cache-Control": _CACHE_CONTROL})


async def get_span_limits(request: Request) -> Response:
    check_query(request)
    return JSONResponse(span_limits_to_json())


ROUTES = [
    Route(SPAN_PATH, get_span_peaks, methods=["GET"], middleware=[Middleware(PeaksCompressionMiddleware)]),
    Route(LIMITS_PATH, get_span_limits, methods=["GET"]),
]

_SPAN_DOCUMENT = {
    "type": "object",
    "description": (
        "An audiowaveform v2 peaks document with 16-bit values (`bits`: 16), plus `start_frame`: the frame the "
        "first pixel starts at (a multiple of `samples_per_pixel`)"
    ),
    "required": ["version", "channels", "sample_rate", "samples_per_pixel", "bits", "length", "start_frame", "data"],
    "properties": {
        "version": {"const": 2},
        "channels": {"type": "integer", "minimum": 1},
        "sample_rate": {"type": "integer", "minimum": 1},
        "samples_per_pixel": {"type": "integer", "minimum": 1},
        "bits": {"const": 16},
        "length": {"type": "integer", "minimum": 0},
        "start_frame": {"type": "integer", "minimum": 0},
        "data": {"type": "array", "items": {"type": "integer", "minimum": -32768, "maximum": 32767}},
    },
}

PATHS: PathItems = {
    SPAN_PATH: {
        "get": {
            "tags": ["assets"],
            "summary": "Peaks of a span of a version, decoded from its master, down to one frame per pixel",
            "operationId": "get_span_peaks",
            "parameters": [
                path_id_doc("assetId", "An asset id from an ingest result"),
                {
                    "name": "version",
                    "in": "path",
                    "required": True,
                    "description": "A version number of the asset; any other shape is answered 404",
                    "schema": {"type": "integer", "minimum": 1},
                },
                *(
                    {
                        "name": rule.name,
                        "in": "query",
                        "required": True,
                        "description": rule.help,
                        "schema": rule.schema(),
                    }
                    for rule in SPAN_RULES
                ),
            ],
            "responses": {
                "200": {"description": "The span's peaks", "content": json_content(_SPAN_DOCUMENT)},
                "400": error("A parameter is missing, malformed or out of range, or the span is too long or too wide"),
                "404": error("No asset with this id, or no such version"),
                "422": error("The version's master cannot be decoded there (`corrupt_media`)"),
                **COMMON_ERRORS,
            },
        }
    },
    LIMITS_PATH: {
        "get": {
            "tags": ["assets"],
            "summary": "The limits of a span peaks request: its fields, longest span and widest answer",
            "operationId": "get_peak_span_limits",
            "responses": {
                "200": {
                    "description": "The limits",
                    "content": json_content(
                        {
                            "type": "object",
                            "required": ["maxSpanSeconds", "maxPixels", "fields"],
                            "properties": {
                                "maxSpanSeconds": {"type": "number"},
                                "maxPixels": {"type": "integer"},
                                "fields": {"type": "array", "items": {"type": "object"}},
                            },
                        }
                    ),
                },
                "400": error("An unknown query parameter"),
            },
        }
    },
}
