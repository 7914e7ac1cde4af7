"""The OpenAPI 3.1 document of the API, assembled from what the code declares.

Paths come from the route table: every route's operations are documented beside it (``PATHS`` of its module), and
a route without documentation, or documentation without a route, stops the build. The request components come
from the rule tables the validators read (``common.edits.OPERATIONS``, ``common.render_options``), so the document
states the ranges the server enforces. The response shapes are declared here. Schemathesis tests the document
against the running app.
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from common.edits import MAX_EDITS, OPERATIONS, PREVIEW_RULE, REPAIR_NOTE_CODES
from common.jobs import JobStatus, JobType
from common.jobs.factory import BACKENDS
from common.media_store.factory import BACKENDS as MEDIA_BACKENDS
from common.render_options import (
    FORMAT_RULE,
    FORMAT_SAMPLE_RATES,
    FORMATS,
    LOSSY_FORMATS,
    PRESET_ENCODINGS,
    PRESET_REQUIRED_TARGETS,
    PRESET_RULE,
    PRESETS,
    TAG_RULES,
    TARGET_RULES,
    bitrate_rule,
    listed_bitrates,
)
from common.stages import JobStage
from web import routes
from web.api_docs import ID_PATTERN, PathItems, error, ref
from web.auth import configured_token
from web.inputs import check_query
from web.routes.ingest import MAX_TITLE_CHARS

_OPTIONAL_NUMBER = {"type": ["number", "null"]}

# The asset version a create request names (routes/assets.py ``requested_asset_version``).
_ASSET_VERSION_PROPERTIES = {
    "assetId": {"type": "string"},
    "version": {"type": ["integer", "null"], "minimum": 1, "description": "Default: the latest version"},
}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def edit_schema() -> dict[str, Any]:
    """One edit operation: one variant per operation of ``common.edits.OPERATIONS``."""
    variants = []
    for name, operation in OPERATIONS.items():
        variants.append(
            {
                "type": "object",
                "description": operation.help,
                "properties": {"op": {"const": name}, **{rule.name: rule.schema() for rule in operation.fields}},
                "required": ["op", *(rule.name for rule in operation.fields if rule.required)],
                "additionalProperties": False,
            }
        )
    return {"oneOf": variants}


def _bitrate_by_format() -> list[dict[str, Any]]:
    """The bitrate each format takes, as ``if format is X then bitrate is ...`` clauses."""
    clauses = []
    for name in FORMATS:
        if name in LOSSY_FORMATS:
            bitrate = bitrate_rule(name).schema()
            allowed = listed_bitrates(name)
            if allowed is not None:
                bitrate = {"type": ["integer", "null"], "enum": [*allowed, None], "description": bitrate["description"]}
        else:
            bitrate = {"type": "null", "description": f"{name} is lossless: no bitrate"}
        clauses.append(
            {
                "if": {"properties": {"format": {"const": name}}, "required": ["format"]},
                "then": {"properties": {"bitrate": bitrate}},
            }
        )
    return clauses


def _sample_rate_by_format() -> list[dict[str, Any]]:
    return [
        {
            "if": {"properties": {"format": {"const": name}}, "required": ["format"]},
            "then": {"properties": {"targets": {"properties": {"sampleRate": {"enum": [*rates, None]}}}}},
        }
        for name, rates in FORMAT_SAMPLE_RATES.items()
    ]


def _preset_encodings() -> list[dict[str, Any]]:
    return [
        {
            "if": {"properties": {"preset": {"const": preset}}, "required": ["preset"]},
            "then": {"properties": {"format": {"const": output_format}, "bitrate": {"enum": [kbps, None]}}},
        }
        for preset, (output_format, kbps) in PRESET_ENCODINGS.items()
    ]


def render_request_schema() -> dict[str, Any]:
    """A render request, from ``common.render_options``'s declarations."""
    return {
        "type": "object",
        "required": ["assetId", "format"],
        "additionalProperties": False,
        "properties": {
            **_ASSET_VERSION_PROPERTIES,
            FORMAT_RULE.name: FORMAT_RULE.schema(),
            PRESET_RULE.name: PRESET_RULE.schema(),
            "bitrate": {"type": ["integer", "null"], "description": "kbit/s, lossy formats only"},
            "tags": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "properties": {rule.name: rule.schema() for rule in TAG_RULES},
            },
            "targets": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "properties": {rule.name: rule.schema() for rule in TARGET_RULES},
            },
        },
        "allOf": [*_bitrate_by_format(), *_sample_rate_by_format(), *_preset_encodings(), *_preset_targets()],
    }


def _preset_targets() -> list[dict[str, Any]]:
    """A preset whose level comes from the request (custom) needs those targets, as numbers."""
    return [
        {
            "if": {"properties": {"preset": {"const": preset}}, "required": ["preset"]},
            "then": {
                "required": ["targets"],
                "properties": {
                    "targets": {
                        "type": "object",
                        "required": list(names),
                        "properties": {name: {"type": "number"} for name in names},
                    }
                },
            },
        }
        for preset, names in PRESET_REQUIRED_TARGETS.items()
    ]


def _number_rule_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["name", "help", "unit", "required", "min", "max", "aboveMin", "default", "choices"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string"},
            "help": {"type": "string"},
            "unit": {"type": "string"},
            "required": {"type": "boolean"},
            "min": {"type": "number"},
            "max": {"type": "number"},
            "aboveMin": {"type": "boolean", "description": "`true`: the value must be greater than `min`"},
            "default": _OPTIONAL_NUMBER,
            "choices": {"type": ["array", "null"], "items": {"type": "number"}},
        },
    }


_LOUDNESS = {
    "type": ["object", "null"],
    "properties": {
        **{name: _OPTIONAL_NUMBER for name in ("integratedLufs", "loudnessRangeLu", "truePeakDbtp", "rmsDb")},
        "unmeasured": {
            "type": "object",
            "description": "Why a value is null, by its name (e.g. `loudnessRangeLu` for audio shorter than 3 s)",
            "additionalProperties": {"type": "string"},
        },
    },
}
_WARNINGS = {
    "type": "array",
    "description": "Damage found in the source (`truncated`, `damaged_audio`) and how much audio was recovered",
    "items": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
    },
}
_REPAIR_NOTES = {
    "type": ["array", "null"],
    "description": "What the repairs did (versions saved from edits, and previews): "
    + "; ".join(f"`{code}`: {when}" for code, when in REPAIR_NOTE_CODES.items()),
    "items": {
        "type": "object",
        "required": ["op", "code", "message"],
        "properties": {
            "op": {"type": "string"},
            "code": {"enum": list(REPAIR_NOTE_CODES)},
            "message": {"type": "string"},
        },
    },
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
        "required": ["jobId", "type", "status", "progress", "stage", "result", "error", "createdAt", "updatedAt"],
        "additionalProperties": False,
        "properties": {
            "jobId": {"type": "string", "pattern": ID_PATTERN},
            "type": {"enum": [job_type.value for job_type in JobType]},
            "status": {"enum": [status.value for status in JobStatus]},
            "progress": {"type": "number", "minimum": 0, "maximum": 1},
            "stage": {
                "enum": [*(stage.value for stage in JobStage), None],
                "description": "What a running job is doing now; each pass of a multi-pass job is named",
            },
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
        "properties": {"jobs": {"type": "array", "items": ref("PollBody")}},
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
            "warnings": _WARNINGS,
            "baseVersion": {"type": ["integer", "null"]},
            "edits": {"type": ["array", "null"]},
            "timeSavedSec": {
                "type": ["number", "null"],
                "description": "Seconds shortenPauses took out of this version (versions saved from edits)",
            },
            "repairNotes": _REPAIR_NOTES,
            "originalUrl": {
                "type": ["string", "null"],
                "description": "The upload as it was received, when the server keeps originals (KEEP_ORIGINALS)",
            },
        },
    },
    "Asset": {
        "type": "object",
        "required": ["assetId", "title", "latestVersion", "versions"],
        "properties": {
            "assetId": {"type": "string", "pattern": ID_PATTERN},
            "title": {"type": "string"},
            "latestVersion": {"type": "integer", "minimum": 1},
            "versions": {"type": "array", "items": ref("AssetVersion"), "minItems": 1},
        },
    },
    "Health": {
        "type": "object",
        # The counts and storage are shown only to a request that may read /api (web/routes/health.py).
        "required": ["status", "store", "mediaStore"],
        "properties": {
            "status": {"const": "ok"},
            "store": {
                "type": "object",
                "required": ["backend", "storeId"],
                "properties": {"backend": {"enum": list(BACKENDS)}, "storeId": {"type": "string"}},
            },
            "mediaStore": {
                "type": "object",
                "required": ["backend", "storeId"],
                "properties": {"backend": {"enum": list(MEDIA_BACKENDS)}, "storeId": {"type": "string"}},
            },
            "jobs": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
            "jobsByType": {
                "type": "object",
                "additionalProperties": {"type": "object", "additionalProperties": {"type": "integer"}},
            },
            "storage": {
                "type": "object",
                "required": ["usedBytes", "freeBytes", "limitBytes"],
                "properties": {
                    "usedBytes": {"type": ["integer", "null"], "minimum": 0},
                    "freeBytes": {"type": ["integer", "null"], "minimum": 0},
                    "limitBytes": {"type": ["integer", "null"], "minimum": 1},
                },
            },
        },
    },
    "EditRequest": {
        "type": "object",
        "required": ["assetId", "edits"],
        "additionalProperties": False,
        "properties": {
            **_ASSET_VERSION_PROPERTIES,
            "edits": {"type": "array", "maxItems": MAX_EDITS, "items": edit_schema()},
        },
    },
    "EditPreviewRequest": {
        "type": "object",
        "required": ["assetId", "edits"],
        "additionalProperties": False,
        "properties": {
            **_ASSET_VERSION_PROPERTIES,
            "edits": {"type": "array", "maxItems": MAX_EDITS, "items": edit_schema()},
            PREVIEW_RULE.name: PREVIEW_RULE.schema(),
        },
    },
    "RenderRequest": render_request_schema(),
    "EditOperations": {
        "type": "object",
        "required": [
            "operations",
            "maxEdits",
            "totalGainDb",
            "minKeptSec",
            "maxMeasuringEdits",
            "maxRepairEdits",
            "preview",
        ],
        "additionalProperties": False,
        "properties": {
            "operations": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["op", "kind", "help", "fields"],
                    "additionalProperties": False,
                    "properties": {
                        "op": {"enum": list(OPERATIONS)},
                        "kind": {
                            "enum": ["edit", "enhance"],
                            "description": "edit: timeline and level edits; enhance: repairs and pause shortening",
                        },
                        "help": {"type": "string"},
                        "fields": {"type": "array", "items": _number_rule_schema()},
                    },
                },
            },
            "maxEdits": {"type": "integer"},
            "totalGainDb": {
                "type": "object",
                "description": "What the gains of one edit list may add up to, raising and lowering apart",
                "required": ["min", "max"],
                "additionalProperties": False,
                "properties": {"min": {"type": "number"}, "max": {"type": "number"}},
            },
            "minKeptSec": {
                "type": "number",
                "description": "The least audio a trim or cut may leave, in seconds",
            },
            "maxMeasuringEdits": {
                "type": "integer",
                "description": "Normalize, trimSilence and shortenPauses operations allowed once consecutive level "
                "edits merge",
            },
            "maxRepairEdits": {
                "type": "integer",
                "description": "Repair operations (highpass, dehum, denoise, deess, level) one list may hold",
            },
            "preview": {
                "type": "object",
                "description": "The preview request's `preview` field, and how a context preview is cut",
                "required": ["name", "help", "choices", "default", "contextSec", "gapSec", "wholeUnderSec"],
                "additionalProperties": False,
                "properties": {
                    "name": {"const": PREVIEW_RULE.name},
                    "help": {"type": "string"},
                    "choices": {"type": "array", "items": {"enum": list(PREVIEW_RULE.choices)}},
                    "default": {"enum": list(PREVIEW_RULE.choices)},
                    "contextSec": {"type": "number"},
                    "gapSec": {"type": "number"},
                    "wholeUnderSec": {"type": "number"},
                },
            },
        },
    },
    "RenderCatalogue": {
        "type": "object",
        "required": ["presets", "formats", "tags"],
        "additionalProperties": False,
        "properties": {
            "presets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "label", "format", "bitrate", "targets", "requiredTargets"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"enum": list(PRESETS)},
                        "label": {"type": "string"},
                        "format": _nullable({"enum": list(FORMATS)}),
                        "bitrate": {"type": ["integer", "null"], "description": "The one kbit/s the preset allows"},
                        "requiredTargets": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "The request's targets this preset needs (custom: the level and ceiling)",
                        },
                        "targets": {
                            "type": "object",
                            "required": [
                                "integratedLufs",
                                "truePeakDb",
                                "rmsDbMin",
                                "rmsDbMax",
                                "sampleRate",
                                "channels",
                                "noiseFloorDbMax",
                            ],
                            "additionalProperties": False,
                            "properties": {
                                "integratedLufs": _OPTIONAL_NUMBER,
                                "truePeakDb": _OPTIONAL_NUMBER,
                                "rmsDbMin": _OPTIONAL_NUMBER,
                                "rmsDbMax": _OPTIONAL_NUMBER,
                                "sampleRate": {"type": ["integer", "null"]},
                                "channels": {"type": ["integer", "null"]},
                                "noiseFloorDbMax": _OPTIONAL_NUMBER,
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
            "tags": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "help", "maxChars"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"enum": [rule.name for rule in TAG_RULES]},
                        "help": {"type": "string"},
                        "maxChars": {"type": "integer", "minimum": 1},
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
            "title": {"type": "string", "maxLength": MAX_TITLE_CHARS},
        },
    },
}


def document_paths(routes: list[BaseRoute], documented: PathItems) -> PathItems:
    """The path items of ``routes`` in their order, each from ``documented``; raises on any mismatch."""
    paths: PathItems = {}
    for route in routes:
        if not isinstance(route, Route) or not route.include_in_schema:
            continue
        path = route.path.replace("{path:path}", "{path}")
        methods = {method.lower() for method in route.methods or () if method != "HEAD"}
        item = documented.get(path, {})
        if set(item) != methods:
            raise RuntimeError(f"{path}: the route serves {sorted(methods)}, its PATHS document {sorted(item)}")
        paths[path] = copy.deepcopy(item)
    if set(documented) - set(paths):
        raise RuntimeError(f"documented without a route: {sorted(set(documented) - set(paths))}")
    return paths


def build_openapi(token_required: bool) -> dict[str, Any]:
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "audioprep",
            "version": "1",
            "description": "Upload spoken-word audio, edit it, and render it loudness-normalised, as background jobs. "
            "Every route that returns a job answers with the same poll body.",
        },
        "paths": document_paths(routes.ROUTES, routes.PATHS),
        "components": {"schemas": _SCHEMAS},
    }
    if token_required:
        document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        document["security"] = [{"bearer": []}]
        for path_item in document["paths"].values():
            for operation in path_item.values():
                if "security" not in operation:
                    operation["responses"]["401"] = error("The bearer token is missing or wrong")
    return document


async def openapi_json(request: Request) -> Response:
    check_query(request)
    return JSONResponse(build_openapi(configured_token() is not None))


ROUTES = [Route("/openapi.json", openapi_json, methods=["GET"], include_in_schema=False)]
