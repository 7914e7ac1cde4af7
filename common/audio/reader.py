"""Reading frame ranges of a master in order, converted to the rate and channels a job works at, through the
edit list's repair filters (``common.audio.enhance``), if any.

Edits read the source forwards with small steps back (a crossfade reads a few milliseconds on both sides of a
cut), so the reader decodes once, front to back, and keeps a short history to serve those steps back. Skipped
spans are decoded and dropped, which keeps positions exact to the sample.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from common.audio.enhance import StreamFilter, filtered
from common.audio.source import OpenedSource, open_source

HISTORY_FRAMES = 1 << 16


class RangeReader:
    """Use as a context manager; ``read(start, count)`` returns float32 (count, channels) frames."""

    def __init__(self, path: Path, *, rate: int, channels: int, filters: list[StreamFilter] | None = None) -> None:
        self.rate = rate
        self.channels = channels
        self._filters = filters or []
        self._source: OpenedSource = open_source(path)
        self._chunks: Iterator[np.ndarray] | None = None
        # Decoded frames [self._buffer_start, self._buffer_start + len(self._buffer)) kept in memory.
        self._buffer = np.zeros((0, channels), dtype=np.float32)
        self._buffer_start = 0
        self._exhausted = False

    def __enter__(self) -> RangeReader:
        self._source.__enter__()
        self._chunks = filtered(self._source.decode_chunks(rate=self.rate, channels=self.channels), self._filters)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._source.close()

    def read(self, start: int, count: int) -> np.ndarray:
        """Frames ``start`` .. ``start + count``; frames past the end of the audio read as silence."""
        if start < self._buffer_start:
            raise ValueError(f"frame {start} was read too long ago (history starts at {self._buffer_start})")
        end = start + count
        while self._buffer_start + len(self._buffer) < end and not self._exhausted:
            self._decode_more(keep_from=start)
        offset = start - self._buffer_start
        frames = self._buffer[offset : offset + count]
        if len(frames) < count:
            frames = np.concatenate([frames, np.zeros((count - len(frames), self.channels), dtype=np.float32)])
        return frames

    def _decode_more(self, keep_from: int) -> None:
        if self._chunks is None:
            raise RuntimeError("reader is not open")
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._exhausted = True
            return
        buffer_end = self._buffer_start + len(self._buffer)
        keep_from = max(self._buffer_start, keep_from - HISTORY_FRAMES)
        if keep_from >= buffer_end:
            self._buffer = chunk
            self._buffer_start = buffer_end
            return
        self._buffer = np.concatenate([self._buffer[keep_from - self._buffer_start :], chunk])
        self._buffer_start = keep_from
