"""``/api/session``: sign in with ``API_TOKEN`` for a session cookie (``POST``), see whether one is needed and held
(``GET``), sign out (``DELETE``). Open without credentials, like the page; see ``web.auth`` and ``web.session``.

Sign-out clears the cookie in this browser; a copy of it taken elsewhere stays valid until it expires (at most
``SESSION_HOURS``) or until ``SESSION_SECRET`` / ``API_TOKEN`` change, which ends every session.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from common.jobs.poll import iso_utc
from web.api_docs import PathItems, error, json_content
from web.auth import SESSION_PATH, configured_token, token_matches
from web.errors import ApiError, error_response, invalid_request
from web.inputs import check_fields, check_query, read_json_object
from web.session import (
    SessionSettings,
    cleared_cookie,
    is_cross_site,
    is_https,
    new_session,
    presented_session,
    session_cookie,
    session_expiry,
)
from web.signin_limit import FailedSignIns

logger = logging.getLogger(__name__)

MAX_TOKEN_CHARS = 4096
_NO_STORE = {"Cache-Control": "no-store"}


def _sessions(request: Request) -> SessionSettings | None:
    settings: SessionSettings | None = request.app.state.sessions
    return settings


def _state_body(required: bool, expires_s: int | None) -> dict[str, Any]:
    return {
        "required": required,
        "signedIn": not required or expires_s is not None,
        "expiresAt": None if expires_s is None else iso_utc(datetime.fromtimestamp(expires_s, UTC)),
    }


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def session_state(request: Request) -> Response:
    check_query(request)
    settings = _sessions(request)
    if settings is None:
        return JSONResponse(_state_body(False, None), headers=_NO_STORE)
    cookie = presented_session(request.scope)
    expires_s = None if cookie is None else session_expiry(settings, cookie, time.time())
    return JSONResponse(_state_body(True, expires_s), headers=_NO_STORE)


async def sign_in(request: Request) -> Response:
    check_query(request)
    settings = _sessions(request)
    token = configured_token()
    if settings is None or token is None:
        raise ApiError(409, "signin_not_required", "API_TOKEN is not set: the API is open and needs no sign-in")
    if is_cross_site(request.scope):
        raise ApiError(403, "cross_site_request", "Sign in from this site's own page.")
    limiter: FailedSignIns = request.app.state.failed_signins
    address = _client_address(request)
    retry_after_s = limiter.retry_after_s(address)
    if retry_after_s is not None:
        logger.warning("sign-in from %s refused: too many failed attempts", address)
        return error_response(
            429,
            "too_many_attempts",
            f"Too many failed sign-ins; try again in {retry_after_s} s.",
            headers={"Retry-After": str(retry_after_s)},
        )
    body = await read_json_object(request)
    check_fields(body, ("token",), ("token",))
    presented = body["token"]
    if not isinstance(presented, str) or len(presented) > MAX_TOKEN_CHARS:
        raise invalid_request("token", f"must be a string of at most {MAX_TOKEN_CHARS} characters")
    if not token_matches(presented.encode("utf-8", "surrogatepass"), token):
        limiter.record_failure(address)
        logger.info("sign-in from %s failed: wrong token", address)
        raise ApiError(401, "invalid_token", "That is not the API token.")
    value, expires_s = new_session(settings, time.time())
    logger.info("sign-in from %s: session until %s", address, iso_utc(datetime.fromtimestamp(expires_s, UTC)))
    response = JSONResponse(_state_body(True, expires_s), headers=_NO_STORE)
    response.headers.append("Set-Cookie", session_cookie(settings, value, secure=is_https(request.scope)))
    return response


async def sign_out(request: Request) -> Response:
    check_query(request)
    settings = _sessions(request)
    response = Response(status_code=204, headers=_NO_STORE)
    if settings is not None:
        response.headers.append("Set-Cookie", cleared_cookie(settings, secure=is_https(request.scope)))
    return response


_HANDLERS = {"GET": session_state, "POST": sign_in, "DELETE": sign_out}


async def session(request: Request) -> Response:
    return await _HANDLERS[request.method](request)


ROUTES = [Route(SESSION_PATH, session, methods=list(_HANDLERS))]

_SESSION_STATE = {
    "description": "Whether a session is needed and held",
    "content": json_content(
        {
            "type": "object",
            "required": ["required", "signedIn", "expiresAt"],
            "properties": {
                "required": {"type": "boolean", "description": "API_TOKEN is set"},
                "signedIn": {"type": "boolean"},
                "expiresAt": {"type": ["string", "null"], "format": "date-time"},
            },
        }
    ),
}
_OPEN: dict[str, Any] = {"tags": ["session"], "security": []}

PATHS: PathItems = {
    SESSION_PATH: {
        "get": {
            **_OPEN,
            "summary": "Whether this browser must sign in, and until when its session lasts",
            "operationId": "get_session",
            "responses": {"200": _SESSION_STATE, "400": error("A query parameter")},
        },
        "post": {
            **_OPEN,
            "summary": "Sign in with the API token: sets an HttpOnly, SameSite=Strict session cookie",
            "operationId": "sign_in",
            "requestBody": {
                "required": True,
                "content": json_content(
                    {
                        "type": "object",
                        "required": ["token"],
                        "additionalProperties": False,
                        "properties": {"token": {"type": "string", "maxLength": MAX_TOKEN_CHARS}},
                    }
                ),
            },
            "responses": {
                "200": _SESSION_STATE,
                "400": error("Malformed JSON or a query parameter"),
                "401": error("The token is wrong (`invalid_token`)"),
                "403": error("The request comes from another site (`cross_site_request`)"),
                "409": error("API_TOKEN is not set: nothing to sign in to (`signin_not_required`)"),
                "413": error("The JSON body is over the size limit"),
                "415": error("The body is not application/json"),
                "422": error("No token, or one that is not a string"),
                "429": error("Too many failed sign-ins from this address (`too_many_attempts`); see Retry-After"),
            },
        },
        "delete": {
            **_OPEN,
            "summary": "Sign out: clears the session cookie",
            "operationId": "sign_out",
            "responses": {"204": {"description": "Signed out"}, "400": error("A query parameter")},
        },
    }
}
