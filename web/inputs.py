"""Reading a request's inputs with one set of rules for every route.

- Query parameters a route does not declare are refused (400 ``unknown_parameter`` naming the first one), so a
  misspelt ``?limt=5`` is an error rather than silently ignored.
- JSON bodies must say ``application/json`` (415), stay under ``MAX_JSON_BYTES`` (413, decided from
  ``Content-Length`` or while reading, before parsing) and parse to an object (400 ``invalid_json``). A string
  (key or value) holding a lone UTF-16 surrogate such as ``"\\ud800"`` is valid JSON but not text: no store or
  encoder can keep it, so it is refused here, for every route, as 400 ``invalid_text``.
- Ids of any shape other than ``new_id()``'s are answered 404 without a store lookup.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request

from common.errors import ConfigurationError
from common.ids import is_valid_id
from web.errors import ApiError, not_found

DEFAULT_MAX_JSON_BYTES = 1024 * 1024
IDEMPOTENCY_KEY_HEADER = "idempotency-key"
IDEMPOTENCY_KEY_MAX_CHARS = 255


def positive_int_setting(name: str, default: int, *, unit: str = "bytes") -> int:
    """A whole-number setting from the environment; a bad value is a configuration error, not a 500 later."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(f"{name}={raw!r} must be a whole number of {unit}, at least 1")
    return int(raw)


def max_json_bytes() -> int:
    return positive_int_setting("MAX_JSON_BYTES", DEFAULT_MAX_JSON_BYTES)


def check_query(request: Request, allowed: Iterable[str] = ()) -> None:
    if not request.scope.get("query_string"):
        # Most requests (every poll) have no query; parsing an empty one is a measurable part of a poll's cost.
        return
    allowed_names = set(allowed)
    for name in request.query_params:
        if name not in allowed_names:
            expected = f"; this route accepts: {', '.join(sorted(allowed_names))}" if allowed_names else ""
            raise ApiError(400, "unknown_parameter", f"unknown query parameter {name!r}{expected}", field=name)
    for name in allowed_names:
        if len(request.query_params.getlist(name)) > 1:
            raise ApiError(400, "repeated_parameter", f"query parameter {name!r} is given more than once", field=name)


def path_id(request: Request, name: str, what: str) -> str:
    """The id in path parameter ``name``; a malformed one is as unknown as a well-formed id nobody issued."""
    value = request.path_params[name]
    if not is_valid_id(value):
        raise not_found(f"No {what} with id {value[:64]!r}.")
    return value


def declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    if not raw.isdigit():
        raise ApiError(400, "bad_request", "Content-Length must be a whole number of bytes")
    return int(raw)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_json_object(request: Request) -> dict[str, Any]:
    if media_type(request) != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the request body as JSON (Content-Type: application/json)")
    limit = max_json_bytes()
    length = declared_length(request)
    if length is not None and length > limit:
        raise ApiError(413, "payload_too_large", f"a JSON body may hold at most {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise ApiError(413, "payload_too_large", f"a JSON body may hold at most {limit} bytes")
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    if _holds_lone_surrogate(value):
        raise ApiError(400, "invalid_text", "the request body holds a lone UTF-16 surrogate escape, which is not text")
    return value


def _holds_lone_surrogate(value: Any) -> bool:
    """Whether any key or string in the parsed body is not encodable as UTF-8 (only lone surrogates are not).

    Walked with a stack, not recursion: the parser accepts nesting deeper than a recursive walk could follow."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            strings: list[str] = [item]
        elif isinstance(item, dict):
            strings = list(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            strings = []
            pending.extend(item)
        else:
            continue
        for text in strings:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def check_fields(body: dict[str, Any], allowed: Iterable[str], required: Iterable[str]) -> None:
    allowed_names = set(allowed)
    for name in body:
        if name not in allowed_names:
            raise ApiError(422, "invalid_request", f"{name}: is not a field of this request", field=str(name)[:64])
    for name in required:
        if body.get(name) is None:
            raise ApiError(422, "invalid_request", f"{name}: is required", field=name)


def idempotency_key(request: Request) -> str | None:
    value = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if value is None:
        return None
    if not 0 < len(value) <= IDEMPOTENCY_KEY_MAX_CHARS or not value.isprintable() or not value.isascii():
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_CHARS} printable ASCII characters",
        )
    return value


def request_fingerprint(request_content: Any) -> str:
    """A digest of what a create request asks for, kept with its ``Idempotency-Key``: the same key sent with a
    request of another fingerprint is refused (422) rather than answered with the first request's job."""
    canonical = json.dumps(request_content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _refuse_constant(name: str) -> Any:
    """JSON has no NaN or Infinity; Python's parser accepts them unless told otherwise."""
    raise ValueError(f"{name} is not a JSON value")
