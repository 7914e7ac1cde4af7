"""Peaks of a short span of a version, computed from its FLAC master: the detail the stored peaks lack when the
page is zoomed in past their resolution (down to one frame per pixel).

This is the web's one read of audio, kept small enough to answer at once: the master is read through
``common.media_store.range_file.RangeFile`` (a seekable file over ranged reads, so only the span's part of the
object is fetched), the demuxer seeks to the FLAC frame holding the span's start, and decoding stops at its end. The
span is at most ``common.peaks.MAX_SPAN_S`` long, so one request decodes at most that much audio, whatever the
recording's length.
A decode whose answer nobody waits for any more (the page scrolled on) is stopped through a ``threading.Event``
checked before reading and between decoded frames, so it gives its thread back within a frame.
It uses PyAV directly and loads no module of the audio engine (``common.audio``): a decoded FLAC frame needs no
resampling, mixing or filtering here.
"""

from __future__ import annotations

import io
import threading
from typing import Any

import av
import numpy as np

from common.errors import MediaError
from common.peaks import SPAN_PEAKS_BITS, SPAN_START_KEY, PeakSpan, flat_data, peaks_header

#: How far before the span a seek may land and still be decoded forwards (FLAC frames are a fraction of a second).
MAX_SEEK_SLACK_S = 10.0
_FULL_SCALE = 1 << (SPAN_PEAKS_BITS - 1)


class SpanAbandoned(Exception):
    """The decode was stopped because its answer is no longer wanted, after ``decoded_frames`` frames of the span."""

    def __init__(self, decoded_frames: int) -> None:
        super().__init__(f"stopped after decoding {decoded_frames} frames of the span")
        self.decoded_frames = decoded_frames


def span_peaks(master: io.RawIOBase, span: PeakSpan, *, stop: threading.Event | None = None) -> dict[str, Any]:
    """The 16-bit v2 peaks document of ``span`` of the FLAC ``master``, with ``SPAN_START_KEY``. Raises
    ``MediaError`` (``corrupt_media``) when the master cannot be read there, ``SpanAbandoned`` once ``stop`` is
    set (looked at before the master is opened and between decoded frames)."""
    if stop is not None and stop.is_set():
        raise SpanAbandoned(0)
    try:
        with av.open(master, mode="r", format="flac") as container:
            if not container.streams.audio:
                raise MediaError("The version's master holds no audio.", code="corrupt_media")
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate
            channels = stream.codec_context.channels
            if not rate or not channels:
                raise MediaError("The version's master declares no sample rate or channels.", code="corrupt_media")
            pixels = _span_pixels(container, stream, rate, channels, span, stop)
    # A damaged file can also give frames whose size does not match the declared channels (``ValueError``).
    except (av.FFmpegError, ValueError) as exc:
        raise MediaError(f"The version's audio could not be read: {exc}", code="corrupt_media") from exc
    return {
        **peaks_header(rate, channels, span.samples_per_pixel, len(pixels)),
        "bits": SPAN_PEAKS_BITS,
        SPAN_START_KEY: span.start_frame,
        "data": flat_data(pixels),
    }


def _span_pixels(
    container: Any, stream: av.AudioStream, rate: int, channels: int, span: PeakSpan, stop: threading.Event | None
) -> np.ndarray:
    time_base = stream.time_base
    if time_base is None:
        raise MediaError("The version's audio has no time base to seek on.", code="corrupt_media")
    container.seek(int(span.start_frame / rate / time_base), stream=stream, backward=True)
    reducer = _PixelReducer(span.samples_per_pixel, channels)
    position: int | None = None
    decoded = 0
    for frame in container.decode(stream):
        if stop is not None and stop.is_set():
            raise SpanAbandoned(decoded)
        if position is None:
            position = round(float((frame.pts or 0) * time_base) * rate)
            if position > span.start_frame or span.start_frame - position > MAX_SEEK_SLACK_S * rate:
                raise MediaError("The version's audio cannot be sought to the span's start.", code="corrupt_media")
        samples = _frame_samples(frame, channels)
        begin = max(span.start_frame - position, 0)
        end = min(span.end_frame - position, len(samples))
        if end > begin:
            reducer.consume(samples[begin:end])
            decoded += end - begin
        position += len(samples)
        if position >= span.end_frame:
            break
    return reducer.finish()


def _frame_samples(frame: av.AudioFrame, channels: int) -> np.ndarray:
    """The frame's samples shaped (frames, channels), as 16-bit full-scale integers (wider formats rounded down,
    as ``floor(x * 32768)`` of a float sample)."""
    array = frame.to_ndarray()
    samples = array.T if frame.format.is_planar else array.reshape(-1, channels)
    if samples.dtype == np.int16:
        return samples.astype(np.int32)
    if samples.dtype == np.int32:
        return samples.astype(np.int32) >> 16
    scaled = np.floor(samples.astype(np.float64) * _FULL_SCALE)
    return np.clip(scaled, -_FULL_SCALE, _FULL_SCALE - 1).astype(np.int32)


class _PixelReducer:
    """Min and max of every ``samples_per_pixel`` frames, fed in pieces of any length; the last pixel may be
    shorter."""

    def __init__(self, samples_per_pixel: int, channels: int) -> None:
        self.samples_per_pixel = samples_per_pixel
        self.channels = channels
        self._pending = np.zeros((0, channels), dtype=np.int32)
        self._pixels: list[np.ndarray] = []

    def consume(self, samples: np.ndarray) -> None:
        joined = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        whole = len(joined) // self.samples_per_pixel
        if whole:
            blocks = joined[: whole * self.samples_per_pixel].reshape(whole, self.samples_per_pixel, self.channels)
            self._pixels.append(np.stack([blocks.min(axis=1), blocks.max(axis=1)], axis=-1))
        self._pending = joined[whole * self.samples_per_pixel :]

    def finish(self) -> np.ndarray:
        if len(self._pending):
            last = np.stack([self._pending.min(axis=0), self._pending.max(axis=0)], axis=-1)
            self._pixels.append(last[np.newaxis])
        if not self._pixels:
            return np.zeros((0, self.channels, 2), dtype=np.int32)
        return np.concatenate(self._pixels)
