"""gzip for waveform peaks: the one large, highly compressible thing the page downloads.

A peaks document is JSON of small integers (an hour at the stored resolution is megabytes), which gzip shrinks to
about a quarter. Only ``/media/...json`` requests without a ``Range`` header, and a span's peaks
(``/api/audio/assets/.../peaks``), go through Starlette's
``GZipMiddleware`` (large bodies are compressed on a thread, off the event loop); audio, renders and ranged reads are
passed on untouched. It wraps those two routes only (``web/routes/media.py``, ``web/routes/peaks.py``), so no other
route pays for it.
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

#: Below this a peaks body is sent as it is: the header costs more than gzip saves.
MINIMUM_SIZE_BYTES = 1024
#: zlib's default level: level 9 takes several times longer on megabytes of JSON for a few percent less.
COMPRESS_LEVEL = 6


class PeaksCompressionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=MINIMUM_SIZE_BYTES, compresslevel=COMPRESS_LEVEL)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_peaks_request(scope):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def is_peaks_request(scope: Scope) -> bool:
    path: str = scope["path"]
    if path.startswith("/api/audio/assets/") and path.endswith("/peaks"):
        return True
    if not (path.startswith("/media/") and path.endswith(".json")):
        return False
    return not any(name == b"range" for name, _ in scope["headers"])
