"""The pieces route modules describe their operations with, for the OpenAPI document ``web.openapi`` assembles.

Each route module declares ``PATHS`` (OpenAPI path items keyed by the route's path) beside its ``ROUTES``, so a
route and its documentation change together; ``web.openapi`` refuses a route without one and one without a route.
"""

from __future__ import annotations

from typing import Any

from web.inputs import IDEMPOTENCY_KEY_MAX_CHARS

ID_PATTERN = "^[0-9a-f]{32}$"
JSON = "application/json"

PathItems = dict[str, dict[str, Any]]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {JSON: {"schema": schema}}


def json_response(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": json_content(ref(schema))}


def error(description: str) -> dict[str, Any]:
    return json_response(description, "Error")


def poll(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response = json_response(description, "PollBody")
    if headers:
        response["headers"] = headers
    return response


LOCATION = {"Location": {"description": "The job's poll URL", "schema": {"type": "string"}}}
BAD_QUERY = error("An unknown or malformed query parameter (`unknown_parameter`, `invalid_parameter`)")
COMMON_ERRORS = {
    "400": BAD_QUERY,
    "503": error("The job store is unavailable or did not answer within STORE_DEADLINE_S; see Retry-After"),
}

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A retry with the same key returns the first request's job (200) instead of queuing another",
    "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_CHARS, "pattern": "^[!-~]+$"},
}


def path_id(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"{description}; any other shape is answered 404",
        "schema": {"type": "string", "pattern": ID_PATTERN},
    }


def create_responses(extra: dict[str, Any]) -> dict[str, Any]:
    """The answers of a route that queues a job, with its own refusals in ``extra``."""
    return {
        "202": poll("The job was queued; poll the Location", LOCATION),
        "200": poll("The job an earlier request with the same Idempotency-Key queued", LOCATION),
        **extra,
        **COMMON_ERRORS,
    }


def json_create(tag: str, summary: str, schema: str) -> dict[str, Any]:
    """A ``POST`` that takes a JSON body (component ``schema``) and queues a job of type ``tag``."""
    return {
        "post": {
            "tags": [tag],
            "summary": summary,
            "operationId": f"create_{tag.replace('.', '_')}",
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": json_content(ref(schema))},
            "responses": create_responses(
                {
                    "400": error("Malformed JSON, a body that is not an object, or a bad query parameter"),
                    "404": error("No asset with this id"),
                    "413": error("The JSON body is over the size limit"),
                    "415": error("The body is not application/json"),
                    "422": error("An invalid field, edit or render option; `field` names it"),
                }
            ),
        }
    }
