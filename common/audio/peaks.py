"""Waveform peaks computed from audio, as audiowaveform JSON version 2 documents (``common.peaks``).

Values are 8-bit: a float sample ``x`` in [-1, 1] is stored as ``clip(floor(x * 128), -128, 127)``. As that mapping
is monotonic, the min/max of quantized values equals the quantized min/max, so coarser zoom levels computed from
stored peaks match peaks computed from the audio.

One fine resolution is stored per version: ``BASE_SAMPLES_PER_PIXEL``, doubled as often as needed to keep at most
``MAX_STORED_PIXELS`` pixels, so a 6-hour file stays a few megabytes of JSON. ``PeaksBuilder`` computes it in one
streaming pass with memory bounded by ``MAX_STORED_PIXELS``, whatever the duration.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from common.peaks import flat_data, fold_pixels, peaks_header

BASE_SAMPLES_PER_PIXEL = 256
MAX_STORED_PIXELS = 1 << 19


def quantize(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] as the 8-bit values the format stores."""
    return np.clip(np.floor(samples * 128.0), -128, 127).astype(np.int8)


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
        return {
            **peaks_header(self.sample_rate, self.channels, self.samples_per_pixel, len(pixels)),
            "data": flat_data(pixels),
        }

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
        self._done = [fold_pixels(pixels, 2).astype(np.int8)]
        self._done_count = len(self._done[0])
        self.samples_per_pixel *= 2
