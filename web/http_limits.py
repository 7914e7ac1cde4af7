"""Bounds on what one HTTP connection may cost the web process before the app sees a request.

uvicorn bounds idle keep-alive (``timeout_keep_alive``) and concurrent connections (``limit_concurrency``, 503
above it) but not the request head: httptools keeps an unterminated header in memory however long it grows, and a
connection that never finishes its head is held for ever. ``BoundedHttpToolsProtocol`` adds those bounds:

- the request line may hold ``MAX_REQUEST_LINE_BYTES`` (414 above it);
- the whole head (request line and headers) ``MAX_HEADER_BYTES`` and ``MAX_HEADER_COUNT`` headers (431 above);
- the head must arrive within ``HEADER_TIMEOUT_S`` of the connection opening or of the request's first byte,
  else the connection is closed. Bodies have no such deadline: a large upload may arrive as slowly as it must.

An unterminated head is measured as it arrives, one read at a time, so its memory stays under the limit plus one
read. The refusals are the API's JSON errors, and the connection is closed after them; so is uvicorn's 503 for a
request beyond ``MAX_CONNECTIONS`` (``too_many_connections``, with ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from dataclasses import dataclass
from typing import Any

from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from web.inputs import positive_int_setting

logger = logging.getLogger(__name__)

DEFAULT_MAX_REQUEST_LINE_BYTES = 8 * 1024
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_MAX_HEADER_COUNT = 100
DEFAULT_HEADER_TIMEOUT_S = 10
DEFAULT_KEEP_ALIVE_TIMEOUT_S = 5
# Room for the 1,000 waiting long-polls one web process is built to hold, and the page's other requests beside them.
DEFAULT_MAX_CONNECTIONS = 2000
# Files a web process holds besides its connections: stores, media files being served or written, libraries.
OTHER_OPEN_FILES = 256
# Per header in the head: ": " between name and value and the CRLF after it.
_HEADER_FRAMING_BYTES = 4


# What a client refused for want of connections is told to wait before trying again.
CONNECTIONS_RETRY_AFTER_S = 1


def _json_error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


async def too_many_connections(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """The answer to a request beyond ``MAX_CONNECTIONS``, in the API's error shape rather than uvicorn's text."""
    body = _json_error("too_many_connections", "the server has too many open connections; try again shortly")
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(CONNECTIONS_RETRY_AFTER_S).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


@dataclass(frozen=True)
class ServerLimits:
    max_request_line_bytes: int = DEFAULT_MAX_REQUEST_LINE_BYTES
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_header_count: int = DEFAULT_MAX_HEADER_COUNT
    header_timeout_s: int = DEFAULT_HEADER_TIMEOUT_S
    keep_alive_timeout_s: int = DEFAULT_KEEP_ALIVE_TIMEOUT_S
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    @classmethod
    def from_env(cls) -> ServerLimits:
        return cls(
            max_request_line_bytes=positive_int_setting("MAX_REQUEST_LINE_BYTES", DEFAULT_MAX_REQUEST_LINE_BYTES),
            max_header_bytes=positive_int_setting("MAX_HEADER_BYTES", DEFAULT_MAX_HEADER_BYTES),
            max_header_count=positive_int_setting("MAX_HEADER_COUNT", DEFAULT_MAX_HEADER_COUNT, unit="headers"),
            header_timeout_s=positive_int_setting("HEADER_TIMEOUT_S", DEFAULT_HEADER_TIMEOUT_S, unit="seconds"),
            keep_alive_timeout_s=positive_int_setting(
                "KEEP_ALIVE_TIMEOUT_S", DEFAULT_KEEP_ALIVE_TIMEOUT_S, unit="seconds"
            ),
            max_connections=positive_int_setting("MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS, unit="connections"),
        )


def raise_open_file_limit(max_connections: int) -> int:
    """Raise this process's soft limit on open files to hold ``max_connections`` and the rest, within the hard
    limit. Many systems start processes at a soft limit of 1,024, below the default ``MAX_CONNECTIONS``: past it
    uvicorn cannot accept connections at all rather than answering 503. Returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + OTHER_OPEN_FILES
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    if soft != resource.RLIM_INFINITY and soft < max_connections + OTHER_OPEN_FILES:
        logger.warning(
            "open files limited to %d (hard limit): fewer than MAX_CONNECTIONS=%d connections may be accepted",
            soft,
            max_connections,
        )
    return soft


class _HeadRefused(Exception):
    """Raised from a parser callback to stop parsing; httptools wraps it in an ``HttpParserError``."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the request head bounded in size, header count and time."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: ServerLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self.head_open = False
        self.head_began_in_this_read = False
        self.unparsed_head_bytes = 0
        self.parsed_head_bytes = 0
        self.header_count = 0
        self.refusal: tuple[int, str, str] | None = None
        self.header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.head_began_in_this_read = False
        super().data_received(data)
        if not self.head_open or self.head_began_in_this_read or self.transport.is_closing():
            # A head that began in this read is at most this read; from the next read on it is counted.
            return
        self.unparsed_head_bytes += len(data)
        if self.unparsed_head_bytes > self.limits.max_header_bytes:
            self.refusal = (431, "request_header_too_large", self._header_bytes_message())
            self.send_400_response("")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_open = True
        self.head_began_in_this_read = True
        self.unparsed_head_bytes = 0
        self.parsed_head_bytes = 0
        self.header_count = 0
        self._arm_header_deadline()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.limits.max_request_line_bytes:
            self._refuse(
                414, "request_line_too_long", f"the request line may hold {self.limits.max_request_line_bytes} bytes"
            )

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self.header_count += 1
        self.parsed_head_bytes += len(name) + len(value) + _HEADER_FRAMING_BYTES
        if self.header_count > self.limits.max_header_count:
            self._refuse(431, "too_many_headers", f"a request may carry {self.limits.max_header_count} headers")
        if len(self.url) + self.parsed_head_bytes > self.limits.max_header_bytes:
            self._refuse(431, "request_header_too_large", self._header_bytes_message())

    def on_headers_complete(self) -> None:
        self.head_open = False
        self._disarm_header_deadline()
        super().on_headers_complete()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        # uvicorn picks its own text 503 app when MAX_CONNECTIONS is reached; ours answers in the API's shape.
        super()._start_asgi_task(cycle, too_many_connections if app is service_unavailable else app)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a parser error; a refusal of ours (raised from a callback) goes out instead."""
        if self.refusal is None:
            super().send_400_response(msg)
            return
        status_code, code, message = self.refusal
        body = _json_error(code, message)
        logger.warning("refused a request head from %s: %s", self.client, message)
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[status_code],
                    b"content-type: application/json\r\n",
                    b"content-length: %d\r\n" % len(body),
                    b"connection: close\r\n\r\n",
                    body,
                ]
            )
        )
        self.transport.close()

    def _refuse(self, status_code: int, code: str, message: str) -> None:
        self.refusal = (status_code, code, message)
        raise _HeadRefused(message)

    def _header_bytes_message(self) -> str:
        return f"the request line and headers may hold {self.limits.max_header_bytes} bytes"

    def _arm_header_deadline(self) -> None:
        if self.header_deadline is None:
            self.header_deadline = self.loop.call_later(self.limits.header_timeout_s, self._header_deadline_passed)

    def _disarm_header_deadline(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _header_deadline_passed(self) -> None:
        self.header_deadline = None
        if not self.transport.is_closing():
            logger.info(
                "closed a connection from %s: no complete request head within %d s",
                self.client,
                self.limits.header_timeout_s,
            )
            self.transport.close()
