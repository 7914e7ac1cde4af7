"""Waveform peaks in the audiowaveform JSON format, version 2, as peaks.js and wavesurfer.js draw them.

``data`` holds, per pixel, a (min, max) pair for each channel in turn: ``[c0min, c0max, c1min, c1max, ...]``;
``length`` = ceil(frames / samples_per_pixel). Values are 8-bit: a float sample ``x`` in [-1, 1] is stored as
``clip(floor(x * 128), -128, 127)``. As that mapping is monotonic, the min/max of quantized values equals the
quantized min/max, so coarser zoom levels computed from stored peaks match peaks computed from the audio.

One fine resolution is stored per version: ``BASE_SAMPLES_PER_PIXEL``, doubled as often as needed to keep at most
``MAX_STORED_PIXELS`` pixels, so a 6-hour file stays a few megabytes of JSON. ``PeaksBuilder`` computes it in one
streaming pass with memory bounded by ``MAX_STORED_PIXELS``, whatever the duration.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PEAKS_FORMAT_VERSION = 2
PEAKS_BITS = 8
BASE_SAMPLES_PER_PIXEL = 256
MAX_STORED_PIXELS = 1 << 19


def quantize(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] as the 8-bit values the format stores."""
    return np.clip(np.floor(samples * 128.0), -128, 127).astype(np.int8)


def rescale_peaks(peaks: dict[str, Any], samples_per_pixel: int) -> dict[str, Any]:
    """``peaks`` (a stored v2 document) at a coarser ``samples_per_pixel``, a multiple of the stored one.

    Raises ``ValueError`` when ``samples_per_pixel`` is not a positive multiple of the stored resolution or the
    document is not a well-formed v2 peaks document.
    """
    stored_spp, channels, length, data = _check_document(peaks)
    if isinstance(samples_per_pixel, bool) or not isinstance(samples_per_pixel, int) or samples_per_pixel <= 0:
        raise ValueError(f"samples_per_pixel must be a positive whole number, got {samples_per_pixel!r}")
    if samples_per_pixel % stored_spp:
        raise ValueError(f"samples_per_pixel must be a multiple of {stored_spp}, got {samples_per_pixel}")
    factor = samples_per_pixel // stored_spp
    pairs = np.asarray(data, dtype=np.int16).reshape(length, channels, 2)
    coarse = _fold(pairs, factor)
    return {**_header(peaks["sample_rate"], channels, samples_per_pixel, len(coarse)), "data": _flat(coarse)}


class PeaksBuilder:
    """A chunk consumer (``common.audio.chunks``) accumulating peaks; ``finish`` gives the v2 document."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.samples_per_pixel = BASE_SAMPLES_PER_PIXEL
        self._done: list[np.ndarray] = []
        self._done_count = 0
        # The pixel being filled: its (min, max) per channel so far and how many frames it holds.
        self._partial: np.ndarray | None = None
        self._partial_frames = 0

    def consume(self, samples: np.ndarray) -> None:
        """Add float samples shaped (frames, channels). Min and max are taken before quantizing (the same
        result, as quantizing is monotonic), so only the extremes are converted."""
        if samples.shape[0] == 0:
            return
        start = 0
        # Pushing pixels may double the resolution and refill the partial pixel, so re-read the state each turn.
        while start < len(samples):
            if self._partial_frames:
                end = min(start + self.samples_per_pixel - self._partial_frames, len(samples))
                self._merge_into_partial(samples[start:end])
                if self._partial_frames == self.samples_per_pixel:
                    self._push(self._take_partial()[np.newaxis])
                start = end
                continue
            whole = (len(samples) - start) // self.samples_per_pixel
            if not whole:
                self._merge_into_partial(samples[start:])
                break
            end = start + whole * self.samples_per_pixel
            blocks = samples[start:end].reshape(whole, self.samples_per_pixel, self.channels)
            start = end
            self._push(quantize(np.stack([blocks.min(axis=1), blocks.max(axis=1)], axis=-1)))

    def finish(self) -> dict[str, Any]:
        if self._partial_frames:
            self._push(self._take_partial()[np.newaxis])
        pixels = self._pixels()
        return {**_header(self.sample_rate, self.channels, self.samples_per_pixel, len(pixels)), "data": _flat(pixels)}

    def _merge_into_partial(self, frames: np.ndarray) -> None:
        if len(frames) == 0:
            return
        pair = quantize(np.stack([frames.min(axis=0), frames.max(axis=0)], axis=-1))
        if self._partial is None:
            self._partial = pair
        else:
            self._partial = np.stack(
                [np.minimum(self._partial[:, 0], pair[:, 0]), np.maximum(self._partial[:, 1], pair[:, 1])], axis=-1
            )
        self._partial_frames += len(frames)

    def _take_partial(self) -> np.ndarray:
        partial = self._partial
        if partial is None:
            raise RuntimeError("no partial pixel to take")
        self._partial = None
        self._partial_frames = 0
        return partial

    def _push(self, pixels: np.ndarray) -> None:
        self._done.append(pixels.astype(np.int8))
        self._done_count += len(pixels)
        while self._done_count > MAX_STORED_PIXELS:
            self._double_resolution()

    def _pixels(self) -> np.ndarray:
        if not self._done:
            return np.zeros((0, self.channels, 2), dtype=np.int8)
        if len(self._done) > 1:
            self._done = [np.concatenate(self._done)]
        return self._done[0]

    def _double_resolution(self) -> None:
        """Merge pixel pairs; an odd last pixel becomes the first half of the pixel being filled."""
        pixels = self._pixels()
        if len(pixels) % 2:
            last = pixels[-1]
            pixels = pixels[:-1]
            carried = self.samples_per_pixel
            if self._partial is not None:
                last = np.stack(
                    [np.minimum(last[:, 0], self._partial[:, 0]), np.maximum(last[:, 1], self._partial[:, 1])],
                    axis=-1,
                )
            self._partial = last
            self._partial_frames += carried
        self._done = [_fold(pixels, 2).astype(np.int8)]
        self._done_count = len(self._done[0])
        self.samples_per_pixel *= 2


def _fold(pairs: np.ndarray, factor: int) -> np.ndarray:
    """Merge every ``factor`` consecutive pixels of ``pairs`` (shaped (pixels, channels, 2)); the last group may
    be shorter."""
    if factor == 1 or len(pairs) == 0:
        return pairs.copy()
    starts = np.arange(0, len(pairs), factor)
    mins = np.minimum.reduceat(pairs[:, :, 0], starts, axis=0)
    maxes = np.maximum.reduceat(pairs[:, :, 1], starts, axis=0)
    return np.stack([mins, maxes], axis=-1)


def _flat(pairs: np.ndarray) -> list[int]:
    return [int(value) for value in pairs.reshape(-1).tolist()]


def _header(sample_rate: int, channels: int, samples_per_pixel: int, length: int) -> dict[str, Any]:
    return {
        "version": PEAKS_FORMAT_VERSION,
        "channels": channels,
        "sample_rate": sample_rate,
        "samples_per_pixel": samples_per_pixel,
        "bits": PEAKS_BITS,
        "length": length,
    }


def _check_document(peaks: Any) -> tuple[int, int, int, list[int]]:
    if not isinstance(peaks, dict) or peaks.get("version") != PEAKS_FORMAT_VERSION:
        raise ValueError("not an audiowaveform version 2 peaks document")
    try:
        stored_spp = int(peaks["samples_per_pixel"])
        channels = int(peaks["channels"])
        length = int(peaks["length"])
        data = peaks["data"]
        int(peaks["sample_rate"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"peaks document lacks a valid field: {exc}") from exc
    if stored_spp <= 0 or channels <= 0 or length < 0:
        raise ValueError("peaks document has a non-positive samples_per_pixel or channels")
    if not isinstance(data, list) or len(data) != length * channels * 2:
        raise ValueError("peaks data does not hold length x channels min/max pairs")
    return stored_spp, channels, length, data
