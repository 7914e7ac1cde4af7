"""Browser sessions when ``API_TOKEN`` is set: the right token buys a signed, expiring cookie that ``/api`` and
``/media`` accept beside the bearer header, so ``<audio>`` playback, the waveform and download links work.

The cookie holds ``v1.<expiry, Unix seconds>.<random nonce>.<signature>``; the signature is an HMAC-SHA256 with a
key derived from ``SESSION_SECRET`` (else ``API_TOKEN``), so every web process accepts every other's cookie and no
session state is kept anywhere. Changing either secret ends every session at once. The cookie is HttpOnly,
SameSite=Strict, ``Path=/``, and Secure when the request came over HTTPS (``is_https``) or
``SESSION_COOKIE_SECURE=1``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

from starlette.types import Scope

from common.errors import ConfigurationError

COOKIE_NAME = "audioprep_session"
DEFAULT_SESSION_HOURS = 12
MAX_SESSION_HOURS = 24 * 366
_VERSION = "v1"
_KEY_CONTEXT = b"audioprep session cookie v1"


@dataclass(frozen=True, slots=True)
class SessionSettings:
    key: bytes
    lifetime_s: int
    always_secure: bool


def session_settings(api_token: str) -> SessionSettings:
    """Read once at start-up, so a malformed ``SESSION_HOURS`` stops the process instead of failing sign-ins."""
    raw_hours = os.environ.get("SESSION_HOURS", "").strip() or str(DEFAULT_SESSION_HOURS)
    if not (raw_hours.isascii() and raw_hours.isdigit() and 1 <= int(raw_hours) <= MAX_SESSION_HOURS):
        raise ConfigurationError(
            f"SESSION_HOURS={raw_hours!r} must be a whole number of hours, 1 to {MAX_SESSION_HOURS}"
        )
    secret = os.environ.get("SESSION_SECRET") or api_token
    return SessionSettings(
        key=hmac.new(secret.encode(), _KEY_CONTEXT, hashlib.sha256).digest(),
        lifetime_s=int(raw_hours) * 3600,
        always_secure=os.environ.get("SESSION_COOKIE_SECURE", "") == "1",
    )


def _signature(settings: SessionSettings, payload: str) -> str:
    digest = hmac.new(settings.key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_session(settings: SessionSettings, now_s: float) -> tuple[str, int]:
    """A fresh cookie value and its expiry (Unix seconds)."""
    expires_s = int(now_s) + settings.lifetime_s
    payload = f"{_VERSION}.{expires_s}.{secrets.token_urlsafe(12)}"
    return f"{payload}.{_signature(settings, payload)}", expires_s


def session_expiry(settings: SessionSettings, value: str, now_s: float) -> int | None:
    """The expiry of a cookie value this app signed and that has not expired; ``None`` for anything else."""
    payload, _, signature = value.rpartition(".")
    if not hmac.compare_digest(signature.encode(), _signature(settings, payload).encode()):
        return None
    parts = payload.split(".")
    if len(parts) != 3 or parts[0] != _VERSION or not parts[1].isdigit() or int(parts[1]) <= now_s:
        return None
    return int(parts[1])


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def presented_session(scope: Scope) -> str | None:
    """The session cookie's value in the request's ``Cookie`` headers, if any."""
    for key, value in scope["headers"]:
        if key != b"cookie":
            continue
        for pair in value.decode("latin-1").split(";"):
            name, _, cookie = pair.strip().partition("=")
            if name == COOKIE_NAME:
                return cookie
    return None


def is_https(scope: Scope) -> bool:
    """The request reached us over HTTPS, directly or through a proxy that says so in ``X-Forwarded-Proto``.

    The header is trusted from anyone: it can only add the Secure flag, and a client that fakes it over plain
    HTTP gets a cookie its own browser will not send back there."""
    if scope.get("scheme") == "https":
        return True
    forwarded = _header(scope, b"x-forwarded-proto")
    return forwarded is not None and forwarded.split(b",")[0].strip().lower() == b"https"


def is_same_origin(scope: Scope) -> bool:
    """The request comes from a page of this site: ``Sec-Fetch-Site`` says so (every current browser sends it),
    or, without it, ``Origin`` names the host the request was sent to. Neither header: not a browser's page."""
    site = _header(scope, b"sec-fetch-site")
    if site is not None:
        return site in (b"same-origin", b"none")
    origin = _header(scope, b"origin")
    host = _header(scope, b"host")
    if origin is None or host is None:
        return False
    _scheme, _, origin_host = origin.decode("latin-1").partition("://")
    return origin_host.lower() == host.decode("latin-1").lower()


def is_cross_site(scope: Scope) -> bool:
    """A browser said the request comes from another site (a request with neither header is not judged)."""
    if _header(scope, b"sec-fetch-site") is None and _header(scope, b"origin") is None:
        return False
    return not is_same_origin(scope)


def session_cookie(settings: SessionSettings, value: str, *, secure: bool) -> str:
    flags = "; Secure" if secure or settings.always_secure else ""
    return f"{COOKIE_NAME}={value}; Max-Age={settings.lifetime_s}; Path=/; HttpOnly; SameSite=Strict{flags}"


def cleared_cookie(settings: SessionSettings, *, secure: bool) -> str:
    flags = "; Secure" if secure or settings.always_secure else ""
    return f"{COOKIE_NAME}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict{flags}"
