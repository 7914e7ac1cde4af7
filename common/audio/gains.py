"""Gain curves over a timeline, evaluated for any span of frames: region gains, fades, and leveling (a constant
gain with a look-ahead peak limiter). Every curve is smooth, so no edit adds a click.

Each curve is a function of a frame position on the timeline it was defined on; ``gains(start, count)`` returns
linear float32 factors for frames ``start .. start + count``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# A gain change over part of the timeline eases in and out over this long, instead of stepping.
REGION_RAMP_S = 0.01
# Peak blocks: the limiter decides its gain per block of this many frames.
PEAK_BLOCK_FRAMES = 256
LIMITER_ATTACK_DB_PER_BLOCK = 3.0
LIMITER_RELEASE_DB_PER_BLOCK = 0.5


#: The most any frame is amplified, by one curve or by all of them together (the program clamps their product):
#: it keeps every sample, and so every loudness, peak and RMS measured from them, finite. At +120 dB everything
#: above a 24-bit master's noise floor is far past full scale anyway.
MAX_GAIN_DB = 120.0
MAX_GAIN = float(10.0 ** (MAX_GAIN_DB / 20.0))


class GainCurve(Protocol):
    def gains(self, start: int, count: int) -> np.ndarray: ...


def db_to_gain(db: float | np.ndarray) -> np.ndarray:
    """Linear gain of ``db``, at most ``MAX_GAIN``."""
    return np.power(10.0, np.minimum(np.asarray(db, dtype=np.float64), MAX_GAIN_DB) / 20.0).astype(np.float32)


@dataclass(frozen=True, slots=True)
class RegionGain:
    """``db`` over frames ``start .. end``, eased over ``ramp`` frames inside each edge that is not a timeline end."""

    db: float
    start: int
    end: int
    timeline_frames: int
    ramp: int

    def gains(self, start: int, count: int) -> np.ndarray:
        ramp = max(1, min(self.ramp, (self.end - self.start) // 2))
        # Most chunks lie wholly outside the region or on its flat part: one value, no curve to evaluate. Every
        # later pass over the program evaluates every curve again, so this keeps long edit lists cheap.
        if start + count <= self.start or start >= self.end:
            return np.ones(count, dtype=np.float32)
        flat_start = self.start + ramp if self.start > 0 else self.start
        flat_end = self.end - ramp if self.end < self.timeline_frames else self.end
        if flat_start <= start and start + count <= flat_end:
            return np.full(count, db_to_gain(self.db), dtype=np.float32)
        positions = np.arange(start, start + count, dtype=np.float64)
        weight = ((positions >= self.start) & (positions < self.end)).astype(np.float64)
        if self.start > 0:
            rising = (positions - self.start + 1) / (ramp + 1)
            inside = (positions >= self.start) & (positions < self.start + ramp)
            weight = np.where(inside, _ease(rising), weight)
        if self.end < self.timeline_frames:
            falling = (self.end - positions) / (ramp + 1)
            inside = (positions >= self.end - ramp) & (positions < self.end)
            weight = np.where(inside, np.minimum(weight, _ease(falling)), weight)
        return db_to_gain(self.db * weight)


@dataclass(frozen=True, slots=True)
class Fade:
    """A raised-cosine fade over frames ``start .. start + length``: from silence (``fade_in``) or to silence.
    The first frame of a fade-in and the last frame of a fade-out are exactly zero."""

    start: int
    length: int
    fade_in: bool

    def gains(self, start: int, count: int) -> np.ndarray:
        if start >= self.start + self.length if self.fade_in else start + count <= self.start:
            return np.ones(count, dtype=np.float32)
        positions = np.arange(start, start + count, dtype=np.float64)
        if self.fade_in:
            progress = np.clip((positions - self.start) / self.length, 0.0, 1.0)
        else:
            progress = np.clip(1.0 - (positions - self.start + 1) / self.length, 0.0, 1.0)
        return _ease(progress).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Leveling:
    """A constant ``gain_db``, with a look-ahead limiter keeping every block's sample peak under ``ceiling_db``.

    ``block_peaks_db`` holds the sample peak of each ``PEAK_BLOCK_FRAMES`` block of the timeline before this gain
    (``None``: no limiting needed). The limiter's gain in dB is eroded with a cone: it falls at most
    ``LIMITER_ATTACK_DB_PER_BLOCK`` per block before a loud block and recovers at most
    ``LIMITER_RELEASE_DB_PER_BLOCK`` after it, and is interpolated linearly between block edges, never above
    what any block needs.
    """

    gain_db: float
    ceiling_db: float
    block_peaks_db: np.ndarray | None

    def gains(self, start: int, count: int) -> np.ndarray:
        if self.block_peaks_db is None or count == 0:
            return np.full(count, db_to_gain(self.gain_db), dtype=np.float32)
        return db_to_gain(self.gain_db + self._limiter_db(start, count))

    @property
    def deepest_reduction_db(self) -> float:
        if self.block_peaks_db is None or len(self.block_peaks_db) == 0:
            return 0.0
        return max(0.0, float(np.max(self.block_peaks_db)) + self.gain_db - self.ceiling_db)

    def _limiter_db(self, start: int, count: int) -> np.ndarray:
        peaks = self.block_peaks_db
        if peaks is None:
            raise RuntimeError("no block peaks")
        margin = math.ceil(self.deepest_reduction_db / LIMITER_RELEASE_DB_PER_BLOCK) + 2
        first_block = start // PEAK_BLOCK_FRAMES
        last_block = (start + count - 1) // PEAK_BLOCK_FRAMES
        low = max(0, first_block - margin)
        high = min(len(peaks), last_block + margin + 2)
        needed = np.minimum(0.0, self.ceiling_db - self.gain_db - peaks[low:high].astype(np.float64))
        if len(needed) == 0:
            return np.zeros(count)
        envelope = _erode(needed)
        # Gain at each block edge: the lower of the two blocks it separates.
        edges = np.minimum(np.concatenate([envelope[:1], envelope]), np.concatenate([envelope, [0.0]]))
        positions = np.arange(start, start + count)
        block = positions // PEAK_BLOCK_FRAMES - low
        block = np.clip(block, 0, len(envelope))
        fraction = (positions % PEAK_BLOCK_FRAMES) / PEAK_BLOCK_FRAMES
        left = edges[block]
        right = edges[np.minimum(block + 1, len(edges) - 1)]
        return left + (right - left) * fraction


def _erode(needed_db: np.ndarray) -> np.ndarray:
    """The largest curve under ``needed_db`` that recovers and falls no faster than the limiter's slopes."""
    index = np.arange(len(needed_db), dtype=np.float64)
    release = LIMITER_RELEASE_DB_PER_BLOCK * index
    after = release + np.minimum.accumulate(needed_db - release)
    reverse = after[::-1]
    attack = LIMITER_ATTACK_DB_PER_BLOCK * index
    return (attack + np.minimum.accumulate(reverse - attack))[::-1]


def _ease(progress: np.ndarray) -> np.ndarray:
    """Raised cosine from 0 at ``progress`` 0 to 1 at 1, flat at both ends."""
    return np.sin(np.pi / 2 * np.clip(progress, 0.0, 1.0)) ** 2
