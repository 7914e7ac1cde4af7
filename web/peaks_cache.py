"""Peaks files at a coarser zoom level (``?samplesPerPixel=``), computed off the event loop and kept for reuse.

Rescaling a one-hour recording's peaks costs about 0.2 s of CPU (reading the JSON, NumPy, writing the JSON), so it
runs in a worker thread, never on the loop that answers every other request, and the encoded answer is cached.
The peaks object is read from the media store (``get_bytes``); the cache key is the object's identity (key, etag,
size) and the zoom level, so an object that changes is read again. The cache holds at most ``PEAKS_CACHE_BYTES``
of answers, dropping the least recently used.
"""

from __future__ import annotations

import json
from collections import OrderedDict

import anyio
import orjson

from common.media_store import MediaStore
from common.peaks import rescale_peaks
from web.inputs import positive_int_setting

DEFAULT_PEAKS_CACHE_BYTES = 64 * 1024 * 1024

CacheKey = tuple[str, str | None, int, int]


def peaks_cache_bytes() -> int:
    return positive_int_setting("PEAKS_CACHE_BYTES", DEFAULT_PEAKS_CACHE_BYTES)


def _rescaled_peaks_json(document: bytes, samples_per_pixel: int) -> bytes:
    peaks = json.loads(document)
    return orjson.dumps(rescale_peaks(peaks, samples_per_pixel))


class RescaledPeaksCache:
    """Encoded rescaled peaks by object identity and zoom level; used from the event loop only."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.held_bytes = 0
        self.entries: OrderedDict[CacheKey, bytes] = OrderedDict()

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

    def _keep(self, key: CacheKey, encoded: bytes) -> None:
        if len(encoded) > self.max_bytes or key in self.entries:
            return
        self.entries[key] = encoded
        self.held_bytes += len(encoded)
        while self.held_bytes > self.max_bytes:
            _, dropped = self.entries.popitem(last=False)
            self.held_bytes -= len(dropped)
