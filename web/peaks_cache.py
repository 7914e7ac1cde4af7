"""Peaks files at a coarser zoom level (``?samplesPerPixel=``), and peaks of a span computed from a version's master
(``common.span_peaks``), both computed off the event loop and kept for reuse.

Rescaling a one-hour recording's peaks costs about 0.2 s of CPU (reading the JSON, NumPy, writing the JSON), so it
runs in a worker thread, never on the loop that answers every other request, and the encoded answer is cached.
The peaks object is read from the media store (``get_bytes``); the cache key is the object's identity (key, etag,
size) and the zoom level, so an object that changes is read again. The cache holds at most ``PEAKS_CACHE_BYTES``
of answers, dropping the least recently used.

A span's peaks are decoded on a thread too, at most ``SPAN_DECODES_AT_ONCE`` at a time per process, so a burst of
zooming cannot take every thread the loop hands work to. The master is read in ranges through the media store from
that thread; a version's master never changes, so its key and the span are the cache key. A decode is given an
event that stops it between frames (``common.span_peaks.SpanAbandoned``) when its client has gone; what it decoded
is dropped, never cached.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

import anyio
import anyio.from_thread
import orjson

from common.media_store import MediaStore
from common.media_store.range_file import RangeFile
from common.peaks import PeakSpan, rescale_peaks
from common.span_peaks import span_peaks
from web.inputs import positive_int_setting

DEFAULT_PEAKS_CACHE_BYTES = 64 * 1024 * 1024

#: Span decodes running at once in one web process; more wait their turn.
SPAN_DECODES_AT_ONCE = 2

CacheKey = tuple[str, str | None, int, int]
SpanKey = tuple[str, int, int, int]


def peaks_cache_bytes() -> int:
    return positive_int_setting("PEAKS_CACHE_BYTES", DEFAULT_PEAKS_CACHE_BYTES)


def _rescaled_peaks_json(document: bytes, samples_per_pixel: int) -> bytes:
    peaks = json.loads(document)
    return orjson.dumps(rescale_peaks(peaks, samples_per_pixel))


class RescaledPeaksCache:
    """Encoded rescaled peaks by object identity and zoom level, and span peaks by master and span; used from the
    event loop only."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.held_bytes = 0
        self.entries: OrderedDict[CacheKey | SpanKey, bytes] = OrderedDict()
        self.span_decodes = anyio.CapacityLimiter(SPAN_DECODES_AT_ONCE)

    async def get(self, store: MediaStore, media_key: str, samples_per_pixel: int) -> bytes:
        """The JSON of the peaks object ``media_key`` at ``samples_per_pixel``; ``ValueError`` when that zoom level
        is invalid, ``MediaNotFound`` when there is no such object."""
        info = await store.head(media_key)
        key = (media_key, info.etag, info.size_bytes, samples_per_pixel)
        cached = self.entries.get(key)
        if cached is not None:
            self.entries.move_to_end(key)
            return cached
        document = await store.get_bytes(media_key)
        encoded = await anyio.to_thread.run_sync(_rescaled_peaks_json, document, samples_per_pixel)
        self._keep(key, encoded)
        return encoded

    async def get_span(
        self, store: MediaStore, master_key: str, span: PeakSpan, *, stop: threading.Event | None = None
    ) -> bytes:
        """The JSON of ``span``'s peaks, decoded from the FLAC master ``master_key``; ``MediaNotFound`` when there
        is no such object, ``MediaError`` when it cannot be decoded there, ``SpanAbandoned`` when ``stop`` is set
        before the decode ends."""
        key = (master_key, span.start_frame, span.end_frame, span.samples_per_pixel)
        cached = self.entries.get(key)
        if cached is not None:
            self.entries.move_to_end(key)
            return cached
        info = await store.head(master_key)

        def fetch(start: int, end: int) -> bytes:
            return anyio.from_thread.run(lambda: store.get_bytes(master_key, start=start, end=end))

        def decode() -> bytes:
            return orjson.dumps(span_peaks(RangeFile(fetch, info.size_bytes), span, stop=stop))

        encoded = await anyio.to_thread.run_sync(decode, limiter=self.span_decodes)
        self._keep(key, encoded)
        return encoded

    def _keep(self, key: CacheKey | SpanKey, encoded: bytes) -> None:
        if len(encoded) > self.max_bytes or key in self.entries:
            return
        self.entries[key] = encoded
        self.held_bytes += len(encoded)
        while self.held_bytes > self.max_bytes:
            _, dropped = self.entries.popitem(last=False)
            self.held_bytes -= len(dropped)
