"""Optional access control for ``/api`` and ``/media``: set ``API_TOKEN`` and every request there must carry
``Authorization: Bearer <token>`` or the session cookie that signing in with the token gives (``web.session``).
Unset means open, for local use. The health check, the OpenAPI document, the page itself and the sign-in route
(``/api/session``) stay open so a load balancer and a browser can reach them; the health check's job counts and
storage figures are shown only to a request that carries the token or a valid session cookie (``is_authorized``).

A request that the cookie alone authenticates and that can change something (any method but GET, HEAD, OPTIONS)
must come from this site's own page (``is_same_origin``): a browser attaches cookies to requests other sites
make, never a bearer header, so API clients are not asked.
"""

from __future__ import annotations

import hmac
import os
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from web.errors import error_response
from web.session import SessionSettings, is_same_origin, presented_session, session_expiry

PROTECTED_PREFIXES = ("/api/", "/media/")
SESSION_PATH = "/api/session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def configured_token() -> str | None:
    return os.environ.get("API_TOKEN") or None


def _is_protected(path: str) -> bool:
    if path == SESSION_PATH:
        return False
    return path.startswith(PROTECTED_PREFIXES) or path in ("/api", "/media")


def is_authorized(scope: Scope, sessions: SessionSettings | None) -> bool:
    """Whether this request may read what ``API_TOKEN`` protects: always when no token is configured, else with
    the bearer token or a session cookie signed with ``sessions`` that has not expired."""
    token = configured_token()
    if token is None:
        return True
    if _presents(_presented_token(scope), token.encode()):
        return True
    cookie = presented_session(scope)
    return sessions is not None and cookie is not None and session_expiry(sessions, cookie, time.time()) is not None


def _presents(presented: bytes | None, token: bytes) -> bool:
    return presented is not None and hmac.compare_digest(presented, token)


def _presented_token(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.partition(b" ")
            return credentials.strip() if scheme.lower() == b"bearer" else None
    return None


def token_matches(presented: bytes, token: str) -> bool:
    """Compared in constant time, so the answer's timing says nothing about how much of it was right."""
    return hmac.compare_digest(presented, token.encode())


class BearerTokenMiddleware:
    """Pure ASGI (no ``BaseHTTPMiddleware``) so the poll path pays one header scan, nothing more."""

    def __init__(self, app: ASGIApp, token: str, sessions: SessionSettings) -> None:
        self.app = app
        self.token = token
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_protected(scope["path"]):
            await self.app(scope, receive, send)
            return
        presented = _presented_token(scope)
        if presented is not None:
            if token_matches(presented, self.token):
                await self.app(scope, receive, send)
                return
            message = "the bearer token is not valid"
        else:
            cookie = presented_session(scope)
            if cookie is not None and session_expiry(self.sessions, cookie, time.time()) is not None:
                if scope["method"] in SAFE_METHODS or is_same_origin(scope):
                    await self.app(scope, receive, send)
                    return
                response = error_response(
                    403, "cross_site_request", "a signed-in request that changes something must come from this site"
                )
                await response(scope, receive, send)
                return
            message = (
                "the session has expired or is not valid; sign in again"
                if cookie is not None
                else "sign in, or send Authorization: Bearer <token>"
            )
        response = error_response(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)
