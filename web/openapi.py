"""The OpenAPI 3.1 document of the API, written by hand so it says exactly what the routes answer.

It is tested against the running app by schemathesis; a route or status code added without a line here fails that.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from common.audio.presets import FORMATS, PRESETS, SAMPLE_RATES, TAG_MAX_CHARS
from common.edits import MAX_EDITS
from common.jobs import JobStatus, JobType
from web.auth import configured_token
from web.inputs import IDEMPOTENCY_KEY_MAX_CHARS, check_query
from web.longpoll import OPENAPI_PARAMETERS as LONG_POLL_PARAMETERS
from web.routes.jobs import MAX_LIST_LIMIT

ID_PATTERN = "^[0-9a-f]{32}$"
JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {JSON: {"schema": schema}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _json_content(_ref("Error"))}


def _poll(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": _json_content(_ref("PollBody"))}
    if headers:
        response["headers"] = headers
    return response


_LOCATION = {"Location": {"description": "The job's poll URL", "schema": {"type": "string"}}}
_COMMON_ERRORS = {
    "400": _error("An unknown or malformed query parameter (`unknown_parameter`, `invalid_parameter`)"),
    "503": _error("The job store is unavailable; try again"),
}


def _path_id(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"{description}; any other shape is answered 404",
        "schema": {"type": "string", "pattern": ID_PATTERN},
    }


_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A retry with the same key returns the first request's job (200) instead of queuing another",
    "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_CHARS, "pattern": "^[!-~]+$"},
}


def _poll_operations(tag: str, what: str) -> dict[str, Any]:
    job_id = _path_id("jobId", "A job id as returned by the create request")
    not_found = _error(f"No {what} job with this id")
    return {
        "get": {
            "tags": [tag],
            "summary": f"Poll a {what} job",
            "operationId": f"poll_{tag.replace('.', '_')}",
            "parameters": [job_id, *LONG_POLL_PARAMETERS],
            "responses": {"200": _poll("The job"), "404": not_found, **_COMMON_ERRORS},
        },
        "delete": {
            "tags": [tag],
            "summary": f"Cancel a {what} job",
            "description": "A queued or running job becomes `cancelled`; a finished job is returned unchanged.",
            "operationId": f"cancel_{tag.replace('.', '_')}",
            "parameters": [job_id],
            "responses": {"200": _poll("The job after the cancel"), "404": not_found, **_COMMON_ERRORS},
        },
    }


def _create_responses(extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "202": _poll("The job was queued; poll the Location", _LOCATION),
        "200": _poll("The job an earlier request with the same Idempotency-Key queued", _LOCATION),
        **extra,
        **_COMMON_ERRORS,
    }


def _json_create(tag: str, summary: str, schema: str) -> dict[str, Any]:
    return {
        "post": {
            "tags": [tag],
            "summary": summary,
            "operationId": f"create_{tag.replace('.', '_')}",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": _json_content(_ref(schema))},
            "responses": _create_responses(
                {
                    "400": _error("Malformed JSON, a body that is not an object, or a bad query parameter"),
                    "404": _error("No asset with this id"),
                    "413": _error("The JSON body is over the size limit"),
                    "415": _error("The body is not application/json"),
                    "422": _error("An invalid field, edit or render option; `field` names it"),
                }
            ),
        }
    }


_NUMBER = {"type": "number"}
_OPTIONAL_NUMBER = {"type": ["number", "null"]}
_EDIT_SCHEMAS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "trim": ({"start": _NUMBER, "end": _NUMBER}, ["start", "end"]),
    "cut": ({"start": _NUMBER, "end": _NUMBER}, ["start", "end"]),
    "gain": ({"db": _NUMBER, "start": _OPTIONAL_NUMBER, "end": _OPTIONAL_NUMBER}, ["db"]),
    "fadeIn": ({"duration": _NUMBER}, ["duration"]),
    "fadeOut": ({"duration": _NUMBER}, ["duration"]),
    "normalize": ({"targetLufs": _NUMBER, "truePeakDb": _OPTIONAL_NUMBER}, ["targetLufs"]),
    "trimSilence": ({"thresholdDb": _OPTIONAL_NUMBER, "minSilence": _OPTIONAL_NUMBER}, []),
}


def _edit_schema() -> dict[str, Any]:
    variants = []
    for op, (fields, required) in _EDIT_SCHEMAS.items():
        variants.append(
            {
                "type": "object",
                "properties": {"op": {"const": op}, **fields},
                "required": ["op", *required],
                "additionalProperties": False,
            }
        )
    return {"oneOf": variants}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


_LOUDNESS = {
    "type": ["object", "null"],
    "properties": {name: _OPTIONAL_NUMBER for name in ("integratedLufs", "loudnessRangeLu", "truePeakDbtp", "rmsDb")},
}

# The asset version a create request names (routes/assets.py ``requested_asset_version``).
_ASSET_VERSION_PROPERTIES = {
    "assetId": {"type": "string"},
    "version": {"type": ["integer", "null"], "minimum": 1, "description": "Default: the latest version"},
}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string", "description": "The offending input, e.g. `edits[2].end`"},
                },
            }
        },
    },
    "PollBody": {
        "type": "object",
        "required": ["jobId", "type", "status", "progress", "result", "error", "createdAt", "updatedAt"],
        "additionalProperties": False,
        "properties": {
            "jobId": {"type": "string", "pattern": ID_PATTERN},
            "type": {"enum": [job_type.value for job_type in JobType]},
            "status": {"enum": [status.value for status in JobStatus]},
            "progress": {"type": "number", "minimum": 0, "maximum": 1},
            "result": {"type": ["object", "null"], "description": "The job type's result once `completed`"},
            "error": {
                "type": ["object", "null"],
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
            "createdAt": {"type": "string", "format": "date-time"},
            "updatedAt": {"type": "string", "format": "date-time"},
        },
    },
    "JobList": {
        "type": "object",
        "required": ["jobs"],
        "properties": {"jobs": {"type": "array", "items": _ref("PollBody")}},
    },
    "AssetVersion": {
        "type": "object",
        "required": ["version", "jobId", "createdAt"],
        "properties": {
            "version": {"type": "integer", "minimum": 1},
            "jobId": {"type": "string"},
            "createdAt": {"type": "string", "format": "date-time"},
            "durationSec": _OPTIONAL_NUMBER,
            "sampleRate": {"type": ["integer", "null"]},
            "channels": {"type": ["integer", "null"]},
            "format": {"type": ["string", "null"]},
            "codec": {"type": ["string", "null"]},
            "loudness": _LOUDNESS,
            "audioUrl": {"type": ["string", "null"]},
            "peaksUrl": {"type": ["string", "null"]},
            "baseVersion": {"type": ["integer", "null"]},
            "edits": {"type": ["array", "null"]},
        },
    },
    "Asset": {
        "type": "object",
        "required": ["assetId", "title", "latestVersion", "versions"],
        "properties": {
            "assetId": {"type": "string", "pattern": ID_PATTERN},
            "title": {"type": "string"},
            "latestVersion": {"type": "integer", "minimum": 1},
            "versions": {"type": "array", "items": _ref("AssetVersion"), "minItems": 1},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "store", "jobs", "jobsByType"],
        "properties": {
            "status": {"const": "ok"},
            "store": {
                "type": "object",
                "required": ["backend", "storeId"],
                "properties": {"backend": {"enum": ["local", "turso"]}, "storeId": {"type": "string"}},
            },
            "jobs": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
            "jobsByType": {
                "type": "object",
                "additionalProperties": {"type": "object", "additionalProperties": {"type": "integer"}},
            },
        },
    },
    "EditRequest": {
        "type": "object",
        "required": ["assetId", "edits"],
        "additionalProperties": False,
        "properties": {
            **_ASSET_VERSION_PROPERTIES,
            "edits": {"type": "array", "maxItems": MAX_EDITS, "items": _edit_schema()},
        },
    },
    "RenderRequest": {
        "type": "object",
        "required": ["assetId", "format"],
        "additionalProperties": False,
        "properties": {
            **_ASSET_VERSION_PROPERTIES,
            "format": {"enum": list(FORMATS)},
            "preset": _nullable({"enum": list(PRESETS)}),
            "bitrate": {"type": ["integer", "null"], "description": "kbit/s, lossy formats only"},
            "tags": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "properties": {
                    name: {"type": ["string", "null"], "maxLength": limit} for name, limit in TAG_MAX_CHARS.items()
                },
            },
            "targets": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "properties": {
                    "integratedLufs": {"type": ["number", "null"], "minimum": -70, "maximum": -5},
                    "truePeakDb": {"type": ["number", "null"], "minimum": -20, "maximum": 0},
                    "sampleRate": _nullable({"enum": list(SAMPLE_RATES)}),
                    "channels": _nullable({"enum": [1, 2]}),
                },
            },
        },
    },
    "RenderCatalogue": {
        "type": "object",
        "required": ["presets", "formats"],
        "additionalProperties": False,
        "properties": {
            "presets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "label", "format", "bitrate", "targets"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"enum": list(PRESETS)},
                        "label": {"type": "string"},
                        "format": _nullable({"enum": list(FORMATS)}),
                        "bitrate": {"type": ["integer", "null"], "description": "The one kbit/s the preset allows"},
                        "targets": {
                            "type": "object",
                            "required": [
                                "integratedLufs",
                                "truePeakDb",
                                "rmsDbMin",
                                "rmsDbMax",
                                "sampleRate",
                                "channels",
                            ],
                            "additionalProperties": False,
                            "properties": {
                                "integratedLufs": _OPTIONAL_NUMBER,
                                "truePeakDb": _OPTIONAL_NUMBER,
                                "rmsDbMin": _OPTIONAL_NUMBER,
                                "rmsDbMax": _OPTIONAL_NUMBER,
                                "sampleRate": {"type": ["integer", "null"]},
                                "channels": {"type": ["integer", "null"]},
                            },
                        },
                    },
                },
            },
            "formats": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "label", "lossless", "bitrate"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"enum": list(FORMATS)},
                        "label": {"type": "string"},
                        "lossless": {"type": "boolean"},
                        "bitrate": {
                            "type": ["object", "null"],
                            "description": "kbit/s; `allowed` lists the only values taken, `null`: any in range",
                            "required": ["min", "max", "default", "allowed"],
                            "additionalProperties": False,
                            "properties": {
                                "min": {"type": "integer"},
                                "max": {"type": "integer"},
                                "default": {"type": "integer"},
                                "allowed": {"type": ["array", "null"], "items": {"type": "integer"}},
                            },
                        },
                    },
                },
            },
        },
    },
    "IngestForm": {
        "type": "object",
        "required": ["file"],
        "additionalProperties": False,
        "properties": {
            "file": {
                "type": "string",
                "format": "binary",
                "minLength": 1,
                "description": "The recording, in any audio format; an empty file is refused",
            },
            "title": {"type": "string", "maxLength": 200},
        },
    },
}


def _paths() -> dict[str, Any]:
    list_parameters = [
        {"name": "status", "in": "query", "schema": {"enum": [status.value for status in JobStatus]}},
        {"name": "type", "in": "query", "schema": {"enum": [job_type.value for job_type in JobType]}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIST_LIMIT}},
    ]
    return {
        "/api/audio/jobs": {
            "get": {
                "tags": ["jobs"],
                "summary": "Recent jobs, newest first",
                "operationId": "list_jobs",
                "parameters": list_parameters,
                "responses": {
                    "200": {"description": "The jobs", "content": _json_content(_ref("JobList"))},
                    **_COMMON_ERRORS,
                },
            }
        },
        "/api/audio/jobs/{jobId}": _poll_operations("jobs", "any"),
        "/api/audio/ingest": {
            "post": {
                "tags": ["ingest"],
                "summary": "Upload a recording and queue its ingest",
                "operationId": "create_ingest",
                "parameters": [_IDEMPOTENCY_KEY],
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _ref("IngestForm")}}},
                "responses": _create_responses(
                    {
                        "400": _error("No `file` field, an empty file, an unknown field or a malformed body"),
                        "413": _error("The file is over MAX_UPLOAD_BYTES"),
                        "415": _error("The body is not multipart/form-data"),
                    }
                ),
            }
        },
        "/api/audio/ingest/{jobId}": _poll_operations("ingest", "ingest"),
        "/api/audio/edit/preview": _json_create("edit.preview", "Queue a preview of an edit list", "EditRequest"),
        "/api/audio/edit/preview/{jobId}": _poll_operations("edit.preview", "edit preview"),
        "/api/audio/edit/save": _json_create("edit.save", "Save an edit list as a new asset version", "EditRequest"),
        "/api/audio/edit/save/{jobId}": _poll_operations("edit.save", "edit save"),
        "/api/render": _json_create("render", "Queue a render of an asset version", "RenderRequest"),
        "/api/render/presets": {
            "get": {
                "tags": ["render"],
                "summary": "The render presets with their targets, and the formats with their bitrates",
                "operationId": "get_render_presets",
                "responses": {
                    "200": {
                        "description": "The presets and formats",
                        "content": _json_content(_ref("RenderCatalogue")),
                    },
                    "400": _COMMON_ERRORS["400"],
                },
            }
        },
        "/api/render/{jobId}": _poll_operations("render", "render"),
        "/api/audio/assets/{assetId}": {
            "get": {
                "tags": ["assets"],
                "summary": "An asset and its versions",
                "operationId": "get_asset",
                "parameters": [_path_id("assetId", "An asset id from an ingest result")],
                "responses": {
                    "200": {"description": "The asset", "content": _json_content(_ref("Asset"))},
                    "404": _error("No asset with this id"),
                    **_COMMON_ERRORS,
                },
            }
        },
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
                    "400": _error("A malformed Range header or query parameter"),
                    "404": _error("No such file"),
                    "416": _error("The range starts past the end of the file"),
                },
            }
        },
        "/healthz": {
            "get": {
                "tags": ["health"],
                "summary": "Liveness, the store's backend and identity, and job counts",
                "operationId": "healthz",
                "security": [],
                "responses": {
                    "200": {"description": "Up", "content": _json_content(_ref("Health"))},
                    **_COMMON_ERRORS,
                },
            }
        },
    }


def build_openapi(token_required: bool) -> dict[str, Any]:
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "audioprep",
            "version": "1",
            "description": "Upload spoken-word audio, edit it, and render it loudness-normalised, as background jobs. "
            "Every route that returns a job answers with the same poll body.",
        },
        "paths": _paths(),
        "components": {"schemas": _SCHEMAS},
    }
    if token_required:
        document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        document["security"] = [{"bearer": []}]
        for path_item in document["paths"].values():
            for operation in path_item.values():
                if "security" not in operation:
                    operation["responses"]["401"] = _error("The bearer token is missing or wrong")
    return document


async def openapi_json(request: Request) -> Response:
    check_query(request)
    return JSONResponse(build_openapi(configured_token() is not None))


ROUTES = [Route("/openapi.json", openapi_json, methods=["GET"], include_in_schema=False)]
