"""Optional bearer token for ``/api`` and ``/media``: set ``API_TOKEN`` and every request there must carry
``Authorization: Bearer <token>``. Unset means open, for local use. The health check, the OpenAPI document and
the page itself stay open so a load balancer and a browser can reach them; the health check's job counts are
shown only to a request that carries the token (``is_authorized``)."""

from __future__ import annotations

import hmac
import os

from starlette.types import ASGIApp, Receive, Scope, Send

from web.errors import error_response

PROTECTED_PREFIXES = ("/api/", "/media/")


def configured_token() -> str | None:
    return os.environ.get("API_TOKEN") or None


def _is_protected(path: str) -> bool:
    return path.startswith(PROTECTED_PREFIXES) or path in ("/api", "/media")


def is_authorized(scope: Scope) -> bool:
    """Whether this request may see what ``API_TOKEN`` protects: always when no token is configured."""
    token = configured_token()
    if token is None:
        return True
    return _presents(_presented_token(scope), token.encode())


def _presents(presented: bytes | None, token: bytes) -> bool:
    return presented is not None and hmac.compare_digest(presented, token)


def _presented_token(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.partition(b" ")
            return credentials.strip() if scheme.lower() == b"bearer" else None
    return None


class BearerTokenMiddleware:
    """Pure ASGI (no ``BaseHTTPMiddleware``) so the poll path pays one header scan, nothing more."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_protected(scope["path"]):
            await self.app(scope, receive, send)
            return
        presented = _presented_token(scope)
        if _presents(presented, self.token):
            await self.app(scope, receive, send)
            return
        message = "send Authorization: Bearer <token>" if presented is None else "the bearer token is not valid"
        response = error_response(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)
