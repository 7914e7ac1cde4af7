"""True peak per ITU-R BS.1770-4 Annex 2: the signal's peak between samples, found by 4x oversampling.

A frame's peak covers its own sample and the three points a quarter, a half and three quarters of the way to the
next one, interpolated by a Kaiser-windowed sinc of ``2 * INTERPOLATION_HALF_TAPS`` taps per phase (longer than
the standard's 12, so content up to 20 kHz reads as an ideal band-limited interpolation does). Only stretches whose
neighbourhood is loud enough to matter are interpolated (``floor``): the interpolated value can exceed the
largest nearby sample by at most ``MAX_OVERSHOOT``, the filter's absolute sum. The filtering is one matrix product
per stretch (``_interpolated_peaks``), which BLAS runs several times faster than a convolution per phase and which
releases the GIL.
"""

from __future__ import annotations

import numpy as np

OVERSAMPLING = 4
INTERPOLATION_HALF_TAPS = 24
_KAISER_BETA = 4.0


def _phase_filters() -> np.ndarray:
    """Taps shaped (2 * half, phases - 1): the filter for the point ``k + m / OVERSAMPLING`` reads frames
    ``k - half + 1 .. k + half``."""
    half = INTERPOLATION_HALF_TAPS
    offsets = np.arange(-half + 1, half + 1, dtype=np.float64)
    columns = []
    for phase in range(1, OVERSAMPLING):
        distance = offsets - phase / OVERSAMPLING
        window = np.i0(_KAISER_BETA * np.sqrt(np.clip(1.0 - (distance / half) ** 2, 0.0, 1.0))) / np.i0(_KAISER_BETA)
        taps = np.sinc(distance) * window
        columns.append(taps / taps.sum())
    return np.stack(columns, axis=1).astype(np.float32)


PHASE_FILTERS = _phase_filters()
_TAPS = 2 * INTERPOLATION_HALF_TAPS
# Interpolated points computed per row of the matrix product: larger rows waste more multiplications by the zeros of
# ``_BLOCK_FILTERS``, smaller ones give BLAS thinner matrices.
_ROW_FRAMES = 64
# Rows per product: the work is a stack of products this small, which OpenBLAS runs on the calling thread. Above
# its threshold it hands a product to its own thread pool, whose spinning threads fight the render's threads for the
# cores (ten times the CPU time on a busy machine).
_STACK_ROWS = 8


def _block_filters() -> np.ndarray:
    """``PHASE_FILTERS`` laid out so that ``frames[r : r + _ROW_FRAMES + _TAPS - 1] @ _BLOCK_FILTERS`` gives the
    points between frames of ``_ROW_FRAMES`` consecutive outputs, all phases: column ``phase * _ROW_FRAMES + i``
    (phase-major, so the largest over phases is an element-wise maximum of whole rows)."""
    filters = np.zeros((_ROW_FRAMES + _TAPS - 1, OVERSAMPLING - 1, _ROW_FRAMES), dtype=np.float32)
    for row in range(_ROW_FRAMES):
        filters[row : row + _TAPS, :, row] = PHASE_FILTERS
    return filters.reshape(_ROW_FRAMES + _TAPS - 1, -1)


_BLOCK_FILTERS = _block_filters()
MAX_OVERSHOOT = float(np.abs(PHASE_FILTERS).sum(axis=0).max())
# Stretches this long are skipped as a whole when they are too quiet to matter.
SKIP_BLOCK_FRAMES = 4096
# Frames of context a frame's peak needs on each side.
CONTEXT_BEFORE = INTERPOLATION_HALF_TAPS - 1
CONTEXT_AFTER = INTERPOLATION_HALF_TAPS


def frame_peaks(padded: np.ndarray, floor: float = 0.0, changed: np.ndarray | None = None) -> np.ndarray:
    """Per-frame true peak (linear, the largest over channels) of ``padded``, a float32 (frames, channels) block
    holding ``CONTEXT_BEFORE`` frames before and ``CONTEXT_AFTER`` after the frames measured. Stretches whose
    true peak cannot exceed ``floor``, or (given ``changed``, a flag per frame of ``padded``) that hold no changed
    frame, get their sample peaks."""
    count = len(padded) - CONTEXT_BEFORE - CONTEXT_AFTER
    if count <= 0:
        return np.zeros(0, dtype=np.float32)
    # Channel by channel: a reduction along a short axis is several times slower in NumPy.
    magnitudes = np.abs(padded[:, 0])
    for channel in range(1, padded.shape[1]):
        np.maximum(magnitudes, np.abs(padded[:, channel]), out=magnitudes)
    peaks = magnitudes[CONTEXT_BEFORE : CONTEXT_BEFORE + count].copy()
    context = CONTEXT_BEFORE + CONTEXT_AFTER
    for start in range(0, count, SKIP_BLOCK_FRAMES):
        end = min(count, start + SKIP_BLOCK_FRAMES)
        if float(magnitudes[start : end + context].max()) * MAX_OVERSHOOT <= floor:
            continue
        if changed is not None and not changed[start : end + context].any():
            continue
        part = padded[start : end + context]
        for channel in range(padded.shape[1]):
            np.maximum(peaks[start:end], _interpolated_peaks(part[:, channel]), out=peaks[start:end])
    return peaks


def _interpolated_peaks(samples: np.ndarray) -> np.ndarray:
    """The largest magnitude of the points between frames ``k`` and ``k + 1`` (all phases) for every ``k`` whose
    filter reach lies in ``samples``: output ``i`` is for frame ``i + CONTEXT_BEFORE``. Rows of the matrix product
    overlap by the filter length, so the input is copied about 1.7 times, never 48."""
    count = len(samples) - _TAPS + 1
    rows = -(-count // (_ROW_FRAMES * _STACK_ROWS)) * _STACK_ROWS
    padded = np.zeros(rows * _ROW_FRAMES + _TAPS - 1, dtype=np.float32)
    padded[: len(samples)] = samples
    width = _ROW_FRAMES + _TAPS - 1
    # Contiguous rows: BLAS cannot read overlapping ones, and NumPy's own loop for them is several times slower.
    windows = np.ascontiguousarray(
        np.lib.stride_tricks.as_strided(padded, shape=(rows, width), strides=(_ROW_FRAMES * 4, 4))
    )
    points = windows.reshape(-1, _STACK_ROWS, width) @ _BLOCK_FILTERS
    return np.abs(points).reshape(rows, OVERSAMPLING - 1, _ROW_FRAMES).max(axis=1).reshape(-1)[:count]


class TruePeakMeter:
    """Streams chunks through ``frame_peaks`` with the context carried over; silence is assumed around the stream,
    as a meter reading a file sees it. ``finish`` returns the true peak (linear)."""

    def __init__(self, channels: int) -> None:
        self._tail = np.zeros((CONTEXT_BEFORE + CONTEXT_AFTER, channels), dtype=np.float32)
        self._peak = 0.0

    def consume(self, chunk: np.ndarray) -> None:
        if len(chunk) == 0:
            return
        padded = np.concatenate([self._tail, np.asarray(chunk, dtype=np.float32)])
        self._peak = max(self._peak, float(frame_peaks(padded, self._peak).max(initial=0.0)))
        self._tail = padded[len(padded) - CONTEXT_BEFORE - CONTEXT_AFTER :]

    def finish(self) -> float:
        silence = np.zeros((CONTEXT_AFTER, self._tail.shape[1]), dtype=np.float32)
        padded = np.concatenate([self._tail, silence])
        return max(self._peak, float(frame_peaks(padded, self._peak).max(initial=0.0)))
