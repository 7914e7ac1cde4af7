"""Reading frame ranges of a master in order, converted to the rate and channels a job works at, through the
edit list's repair filters (``common.audio.enhance``), if any.

Edits read the source forwards with small steps back (a crossfade reads a few milliseconds on both sides of a
cut), so the reader decodes front to back and keeps a short history to serve those steps back. A short skipped
span is decoded and dropped; a jump of more than ``SEEK_AHEAD_S`` seeks in the master instead (a long cut, or a
context preview's next excerpt), taking its position from the first decoded frame's timestamp, which a FLAC master
gives exactly, so positions stay exact to the sample when the reader keeps the master's rate. Decoding runs on its
own thread (``BackgroundIterator``), a few chunks ahead of the reads, and so does each of a fixed list of repair
filters, a pipeline whose stages (FFmpeg decoding and filters, NumPy FFTs) release the GIL and share the cores; a
seek stops those threads first, since they read the same container.

Repair filters carry state from everything before (IIR and de-esser memory, the denoiser's overlap and a-priori
SNR), so a frame after a seek is not quite the frame a reading through gives. A reader given a fixed list of filters
never seeks: it decodes and filters the skipped span instead (a saved version is exact). A reader given
``filters_at`` (a context preview) may seek: it lands ``preroll`` frames before the frame asked for, starts a fresh
set of filters there (``filters_at(frame)``, placed at that source frame) and drops what they give before the frame
asked for, by when they have settled (see ``common.audio.editing``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from common.audio.background import BackgroundIterator
from common.audio.enhance import StreamFilter, aligned
from common.audio.source import OpenedSource, SourceFile, open_source

HISTORY_FRAMES = 1 << 16
#: A forward jump longer than this seeks rather than decoding the span in between.
SEEK_AHEAD_S = 10.0


class RangeReader:
    """Use as a context manager; ``read(start, count)`` returns float32 (count, channels) frames."""

    def __init__(
        self,
        path: SourceFile,
        *,
        rate: int,
        channels: int,
        filters: list[StreamFilter] | None = None,
        filters_at: Callable[[int], list[StreamFilter]] | None = None,
        preroll: int = 0,
    ) -> None:
        self.rate = rate
        self.channels = channels
        self._filters = filters or []
        self._filters_at = filters_at
        self._preroll = preroll
        self._source: OpenedSource = open_source(path)
        self._chunks: BackgroundIterator[np.ndarray] | None = None
        # The decoder's thread, then each filter's: ``_chunks`` is the last.
        self._stages: list[BackgroundIterator[np.ndarray]] = []
        # Decoded frames [self._buffer_start, self._buffer_start + len(self._buffer)) kept in memory.
        self._buffer = np.zeros((0, channels), dtype=np.float32)
        self._buffer_start = 0
        self._exhausted = False

    def __enter__(self) -> RangeReader:
        self._source.__enter__()
        self._start_decoding()
        return self

    def _start_decoding(self) -> BackgroundIterator[np.ndarray]:
        decoded = self._source.decode_chunks(rate=self.rate, channels=self.channels)
        if self._filters_at is not None:
            # Which filters run is known only once decoding has started: they stay on the decoder's thread.
            chunks = BackgroundIterator(self._refiltered(decoded), "decoder")
            self._stages = [chunks]
        else:
            chunks = BackgroundIterator(decoded, "decoder")
            self._stages = [chunks]
            for stream_filter in self._filters:
                chunks = BackgroundIterator(aligned(chunks, stream_filter), "repair")
                self._stages.append(chunks)
        self._chunks = chunks
        return chunks

    def _stop_decoding(self) -> None:
        # The last stage first: each stage's thread reads the one before it.
        for stage in reversed(self._stages):
            stage.close()
        self._stages = []

    def _refiltered(self, decoded: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """``decoded`` through filters from ``filters_at``, made once the first chunk says where decoding started."""
        if self._filters_at is None:
            raise RuntimeError("the reader has no filters to restart")
        first = next(decoded, None)
        if first is None:
            return
        filters = self._filters_at(round(self._source.decoded_from_s * self.rate))

        def chunks() -> Iterator[np.ndarray]:
            yield first
            yield from decoded

        stream = chunks()
        for stream_filter in filters:
            stream = aligned(stream, stream_filter)
        yield from stream

    def __exit__(self, *exc_info: object) -> None:
        self._stop_decoding()
        self._source.close()

    def read(self, start: int, count: int) -> np.ndarray:
        """Frames ``start`` .. ``start + count``; frames past the end of the audio read as silence."""
        if start < self._buffer_start:
            raise ValueError(f"frame {start} was read too long ago (history starts at {self._buffer_start})")
        end = start + count
        if not self._filters and start - (self._buffer_start + len(self._buffer)) > SEEK_AHEAD_S * self.rate:
            self._seek(max(start - self._preroll, 0))
        while self._buffer_start + len(self._buffer) < end and not self._exhausted:
            self._decode_more(keep_from=start)
        offset = start - self._buffer_start
        frames = self._buffer[offset : offset + count]
        if len(frames) < count:
            frames = np.concatenate([frames, np.zeros((count - len(frames), self.channels), dtype=np.float32)])
        return frames

    def _seek(self, frame: int) -> None:
        # Decoding must start at or before ``frame``; should a demuxer land after it, step further back.
        for target_s in (frame / self.rate, max(frame / self.rate - SEEK_AHEAD_S, 0.0), 0.0):
            # The decoding thread reads the same container: stop it before moving the container's position.
            self._stop_decoding()
            self._source.seek(target_s)
            try:
                chunk = next(self._start_decoding())
            except StopIteration:
                self._buffer, self._buffer_start, self._exhausted = self._buffer[:0], frame, True
                return
            self._buffer = chunk
            self._buffer_start = round(self._source.decoded_from_s * self.rate)
            self._exhausted = False
            if self._buffer_start <= frame:
                return
        raise ValueError(f"cannot seek to frame {frame}")

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
