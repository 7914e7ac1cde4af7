"""``TursoJobStore``: the job store on a libSQL server (Turso, or sqld) through libsql-client 0.3.1.

Only single statements and batches are used (a claim is one ``UPDATE ... RETURNING``; a batch is one transaction
on the server), so the store works over HTTP (``http://``, ``https://``) and WebSocket (``ws://``, ``wss://``,
``libsql://`` which means wss). The client is unmaintained upstream; this module covers its rough edges: an
explicit ``close()`` (no stray "Future exception was never retrieved"), a fresh client when the old one closed,
retries with back-off after a dropped connection for calls that are safe to repeat, a timeout on every call, and
driver errors turned into ``StoreError`` with a clear message. The auth token is never logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import aiohttp
import libsql_client

from common.errors import ConfigurationError, StoreError
from common.jobs.sql_store import Params, Row, SqlJobStore, Statement

logger = logging.getLogger(__name__)

SCHEMES = frozenset({"libsql", "wss", "ws", "https", "http"})
REQUEST_TIMEOUT_S = 30.0
RETRY_DELAYS_S = (0.1, 0.3, 1.0)
#: How long a call keeps retrying while the server reports itself busy (another writer holds the lock, or it sheds
#: load with HTTP 429).
BUSY_WAIT_S = 10.0
BUSY_DELAY_S = 0.001
BUSY_DELAY_MAX_S = 0.1
_CONNECTION_CODES = frozenset({"HRANA_WEBSOCKET_ERROR", "CLIENT_CLOSED", "STREAM_CLOSED"})

T = TypeVar("T")


# An HTTP status of 401 or 403 in libsql-client's message, not those digits inside a longer number.
_AUTH_STATUS = re.compile(r"(?<!\d)40[13](?!\d)")


def redact_url(url: str) -> str:
    """``url`` without user info or query string (which may carry ``authToken``): safe to log."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _is_auth_error(exc: BaseException) -> bool:
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return exc.status in (401, 403)
    if isinstance(exc, aiohttp.ClientConnectionError | OSError | TimeoutError):
        # Never an answer from the server; their text names the host and port, which may hold "401" or "403".
        return False
    text = str(exc).lower()
    return bool(_AUTH_STATUS.search(text)) or "unauthorized" in text or "jwt" in text or "authenticat" in text


def _is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, libsql_client.LibsqlError):
        return exc.code in _CONNECTION_CODES or (exc.code == "SERVER_ERROR" and "status 5" in str(exc))
    return isinstance(exc, aiohttp.ClientError | OSError | TimeoutError)


def _is_full(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, libsql_client.LibsqlError) and ("SQLITE_FULL" in text or "disk is full" in text)


def _is_busy(exc: BaseException) -> bool:
    """The server refused the call before applying it: its database is locked, or it sheds load (HTTP 429)."""
    text = str(exc)
    return isinstance(exc, libsql_client.LibsqlError) and (
        "SQLITE_BUSY" in text or "database is locked" in text or "status 429" in text
    )


def _reason(exc: BaseException) -> str:
    """What went wrong, never empty: a call cut off by ``REQUEST_TIMEOUT_S`` raises a ``TimeoutError`` with no text."""
    if str(exc):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return f"no answer within {REQUEST_TIMEOUT_S:g} s"
    return type(exc).__name__


def _was_not_sent(exc: BaseException) -> bool:
    """The request never reached the server (no connection could be made), so repeating it is always safe."""
    return isinstance(exc, aiohttp.ClientConnectorError)


async def _handshake_done(client: libsql_client.Client) -> None:
    """Wait for a WebSocket client's hello exchange before its first request.

    A refused token is answered with ``hello_error`` and the socket is closed; a request queued behind the hello
    can then fail to write first ("Cannot write to closing transport") and hide the real reason. libsql-client
    0.3.1 (pinned) has no public way to wait for the handshake, hence its connection's ``wait_connected``. A
    connection that already failed is left alone: the client replaces it on the next request.
    """
    connection = getattr(client, "_conn", None)
    if connection is not None and connection.exception is None:
        await connection.wait_connected()


def _is_read_only(statement: str) -> bool:
    return statement.lstrip().upper().startswith(("SELECT", "PRAGMA"))


class TursoJobStore(SqlJobStore):
    backend = "turso"
    combines_settle_and_claim = True

    def __init__(self, url: str, auth_token: str | None) -> None:
        super().__init__()
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise ConfigurationError(
                f"TURSO_DATABASE_URL must start with one of {', '.join(sorted(SCHEMES))}://, got {redact_url(url)!r}"
            )
        self._url = url
        self._auth_token = auth_token
        self._client: libsql_client.Client | None = None
        self._closed = False

    @classmethod
    async def open(cls, url: str, *, auth_token: str | None = None) -> TursoJobStore:
        """Connect to the libSQL database at ``url`` and bring its schema up to date."""
        store = cls(url, auth_token)
        try:
            await store._migrate()
        except BaseException:
            await store.close()
            raise
        return store

    @property
    def location(self) -> str:
        return redact_url(self._url)

    def _current_client(self) -> libsql_client.Client:
        if self._closed:
            raise StoreError(f"the job store at {self.location} is closed", code="store_closed")
        if self._client is None or self._client.closed:
            try:
                self._client = libsql_client.create_client(self._url, auth_token=self._auth_token)
            except libsql_client.LibsqlError as exc:
                raise ConfigurationError(f"TURSO_DATABASE_URL {self.location} is not usable: {exc}") from exc
        return self._client

    async def _call(self, operation: Callable[[libsql_client.Client], Awaitable[T]], *, idempotent: bool) -> T:
        connection_retries = 0
        busy_retries = 0
        busy_deadline = time.monotonic() + BUSY_WAIT_S
        while True:
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    client = self._current_client()
                    await _handshake_done(client)
                    return await operation(client)
            except StoreError:
                raise
            except Exception as exc:
                if _is_busy(exc) and time.monotonic() < busy_deadline:
                    # The server could not take its write lock, so nothing was applied: any call may be repeated.
                    await asyncio.sleep(min(BUSY_DELAY_S * 2**busy_retries, BUSY_DELAY_MAX_S) * random.uniform(0.5, 1))
                    busy_retries += 1
                    continue
                error = self._store_error(exc)
                may_repeat = idempotent or _was_not_sent(exc)
                if not (error.transient and may_repeat and connection_retries < len(RETRY_DELAYS_S)):
                    raise error from exc
                logger.warning(
                    "job store %s: connection problem (attempt %d), retrying: %s",
                    self.location,
                    connection_retries + 1,
                    _reason(exc),
                )
                await asyncio.sleep(RETRY_DELAYS_S[connection_retries])
                connection_retries += 1

    def _store_error(self, exc: Exception) -> StoreError:
        if _is_auth_error(exc):
            has_token = self._auth_token or "authToken=" in urllib.parse.urlsplit(self._url).query
            state = "was refused" if has_token else "is missing (set TURSO_AUTH_TOKEN)"
            return StoreError(
                f"the job store at {self.location} rejected the connection: the auth token {state}",
                code="store_unauthorized",
            )
        if _is_busy(exc):
            return StoreError(f"job store {self.location} stayed busy: {exc}", code="store_busy", transient=True)
        if _is_full(exc):
            return StoreError(f"job store {self.location} is full: {exc}", code="store_full", transient=True)
        if _is_connection_error(exc):
            return StoreError(
                f"cannot reach the job store at {self.location}: {_reason(exc)}",
                code="store_unavailable",
                transient=True,
            )
        return StoreError(f"job store {self.location}: {exc}")

    async def _execute(self, statement: str, params: Params) -> list[Row]:
        async def run(client: libsql_client.Client) -> list[Row]:
            result = await client.execute(statement, dict(params))
            return [row.astuple() for row in result.rows]

        return await self._call(run, idempotent=_is_read_only(statement))

    async def _batch(self, statements: Sequence[Statement], *, repeatable: bool = True) -> list[list[Row]]:
        """Batches are safe to repeat (cancel, asset versions by job id, guarded migrations), so they are retried
        after a dropped connection; all but a settle-and-claim, which is not repeatable."""

        async def run(client: libsql_client.Client) -> list[list[Row]]:
            results = await client.batch([libsql_client.Statement(sql, dict(params)) for sql, params in statements])
            return [[row.astuple() for row in result.rows] for result in results]

        return await self._call(run, idempotent=repeatable)

    async def commit_token(self) -> int | None:
        return None

    async def _close(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None and not client.closed:
            try:
                await client.close()
            except (libsql_client.LibsqlError, aiohttp.ClientError, OSError) as exc:
                logger.warning("job store %s: error while closing the client: %s", self.location, exc)
