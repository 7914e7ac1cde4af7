"""Every error the API answers is JSON ``{"error": {"code", "message"}}`` with a status that says whose fault it is.

``ApiError`` carries its HTTP status. Errors from ``common`` are mapped by class; anything unexpected becomes a
500 with a generic message, and the details go to the log, never to the client.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from common.errors import (
    AppError,
    AssetDeleted,
    EditListError,
    IdempotencyKeyReused,
    LastAssetVersion,
    MediaError,
    StoreError,
)
from common.media_store import MediaStoreError
from common.render_options import RenderOptionsError

logger = logging.getLogger(__name__)

# Errors raised by ``common`` keep their own code; only the status is decided here.
_STATUS_BY_ERROR_CLASS: tuple[tuple[type[AppError], int], ...] = (
    (EditListError, 422),
    (RenderOptionsError, 422),
    (MediaError, 422),
    (IdempotencyKeyReused, 422),
    (LastAssetVersion, 409),
    (AssetDeleted, 409),
    (StoreError, 503),
    (MediaStoreError, 503),
)

# What a 503 from the store tells a client to wait before trying again.
STORE_RETRY_AFTER_S = 5

_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "invalid_request",
}


class ApiError(AppError):
    """An error answered to the client as is, with its HTTP status. ``field`` names the offending input."""

    def __init__(self, status_code: int, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, code=code)
        self.status_code = status_code
        self.field = field


def not_found(message: str = "Not found.") -> ApiError:
    return ApiError(404, "not_found", message)


def invalid_request(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid_request", f"{field}: {message}", field=field)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, field), status_code=status_code, headers=headers)


async def app_error_handler(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, AppError):
        return await unexpected_error_handler(request, exc)
    if isinstance(exc, ApiError):
        return error_response(exc.status_code, exc.code, exc.message, field=exc.field)
    status_code = next((status for cls, status in _STATUS_BY_ERROR_CLASS if isinstance(exc, cls)), None)
    if status_code is None:
        return await unexpected_error_handler(request, exc)
    if status_code >= 500:
        logger.warning("%s %s failed: %s: %s", request.method, request.url.path, exc.code, exc.message)
        return error_response(
            status_code,
            exc.code,
            f"The {'media' if isinstance(exc, MediaStoreError) else 'job'} store is unavailable; try again shortly.",
            headers={"Retry-After": str(STORE_RETRY_AFTER_S)},
        )
    return error_response(status_code, exc.code, exc.message, field=getattr(exc, "field", None))


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):
        return await unexpected_error_handler(request, exc)
    code = _CODE_BY_STATUS.get(exc.status_code, "http_error")
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = "Error"
    message = exc.detail if exc.detail and exc.detail != phrase else f"{phrase}."
    return error_response(exc.status_code, code, message, headers=exc.headers)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    logger.exception("unexpected error answering %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "Something went wrong on the server; it has been logged.")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    AppError: app_error_handler,
    HTTPException: http_exception_handler,
    Exception: unexpected_error_handler,
}
