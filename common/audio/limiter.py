"""A gain followed by a look-ahead true-peak limiter, in one streaming pass with bounded memory.

Each frame's true peak (``common.audio.truepeak``, 4x oversampled) gives the gain it needs to sit under the
ceiling. That need is held for ``HOLD_S`` after a peak and met ``2 * RAMP_S`` before it (a running minimum), then
smoothed twice by a running mean of ``RAMP_S`` each side; every mean is taken over values that are each at most the
need of the frame in the middle, so the smoothed gain never exceeds any frame's need. A gain that varies under the
interpolation filter can still move a point between samples, so the limiter then measures its own output the same
way and lowers the need wherever a point is still over, until none is (a step or two on the hardest test
signals; ``MAX_REPAIRS`` bounds it): its output is under the ceiling by construction, not by a later check.
The output lags the input by a few milliseconds (the look-ahead) and the frames already passed on keep their
gain, so a chunk's result does not depend on how the stream was cut.
"""

from __future__ import annotations

import logging
import math
from typing import Generic, TypeVar

import numpy as np

from common.audio.chunks import ChunkConsumer
from common.audio.running import running_mean, running_min
from common.audio.truepeak import CONTEXT_AFTER, CONTEXT_BEFORE, frame_peaks

logger = logging.getLogger(__name__)

Result = TypeVar("Result")

RAMP_S = 0.0015
HOLD_S = 0.01
# Frames gathered before a block is limited: the look-ahead is small beside it, so little is recomputed.
MIN_BLOCK_FRAMES = 1 << 14
MAX_REPAIRS = 24
# The detector reads full-band content (square waves) up to this much under an ideal band-limited interpolation;
# the limiter aims this much under the ceiling, so its output stays under it by that measure too.
DETECTOR_MARGIN_DB = 0.2
# The first gain aims this much under the ceiling, so the ramps rarely leave a point over it to repair.
_FIRST_AIM = 0.98
# Where the limiter holds peaks, relative to the ceiling it is given.
HOLDS_PEAKS_AT_DB = 20.0 * math.log10(_FIRST_AIM) - DETECTOR_MARGIN_DB
# A repaired frame aims this much lower than exactly at the ceiling, so a repair converges in a step or two.
_REPAIR_FACTOR = 0.999


class TruePeakLimiter(Generic[Result]):
    """Multiply chunks by ``gain_db`` and keep their true peak under ``ceiling_db`` (dBTP; ``None``: the gain
    alone), passing the result on to ``downstream``; ``finish`` returns what ``downstream.finish()`` returns."""

    def __init__(
        self,
        downstream: ChunkConsumer[Result],
        *,
        rate: int,
        channels: int,
        gain_db: float,
        ceiling_db: float | None,
    ) -> None:
        self._downstream = downstream
        self._gain = float(10.0 ** (gain_db / 20.0))
        self._ceiling = math.inf if ceiling_db is None else float(10.0 ** ((ceiling_db - DETECTOR_MARGIN_DB) / 20.0))
        self._ramp = max(1, round(RAMP_S * rate))
        hold = round(HOLD_S * rate)
        self._ahead = 2 * self._ramp + CONTEXT_AFTER + CONTEXT_BEFORE
        self._behind = self._ahead + hold
        # Frames kept on each side of the frames passed on: what their gain and their output's peaks depend on.
        self._latency = self._ahead + 2 * self._ramp + 2 * (CONTEXT_BEFORE + CONTEXT_AFTER)
        self._history = self._behind + 2 * self._ramp + 2 * (CONTEXT_BEFORE + CONTEXT_AFTER)
        # Frames before the stream are silence that was "passed on" at unity gain.
        self._frames = np.zeros((self._history, channels), dtype=np.float32)
        self._gains = np.ones(self._history, dtype=np.float32)
        self._pending = 0

    def consume(self, chunk: np.ndarray) -> None:
        if len(chunk) == 0:
            return
        if self._ceiling == math.inf:
            self._downstream.consume(np.asarray(chunk, dtype=np.float32) * np.float32(self._gain))
            return
        self._frames = np.concatenate([self._frames, np.asarray(chunk, dtype=np.float32) * np.float32(self._gain)])
        self._pending += len(chunk)
        if self._pending >= self._latency + MIN_BLOCK_FRAMES:
            self._limit(self._pending - self._latency)

    def finish(self) -> Result:
        if self._pending:
            real = self._pending
            silence = np.zeros((self._latency, self._frames.shape[1]), dtype=np.float32)
            self._frames = np.concatenate([self._frames, silence])
            self._pending += self._latency
            self._limit(real)
        return self._downstream.finish()

    def _limit(self, count: int) -> None:
        """Pass on the next ``count`` pending frames, limited."""
        frames = self._frames
        kept = len(frames) - self._pending
        padded = _pad(frames)
        aim = self._ceiling * _FIRST_AIM
        need = np.minimum(1.0, aim / np.maximum(frame_peaks(padded, aim), 1e-12))
        checked = slice(kept - CONTEXT_AFTER, kept + count)
        for _ in range(MAX_REPAIRS):
            gains = self._smooth(need)
            gains[:kept] = self._gains
            output = frames * gains[:, np.newaxis]
            # Where the gain is 1 throughout a filter's reach the output is the input, already under the aim.
            reduced = _pad(gains < 1.0)
            peaks = frame_peaks(_pad(output), self._ceiling, reduced)
            over = np.flatnonzero(peaks[checked] > self._ceiling) + checked.start
            if len(over) == 0:
                break
            # The point between frames k and k+1 reads frames k - CONTEXT_BEFORE .. k + CONTEXT_AFTER.
            factors = np.ones(len(frames))
            factors[over] = (self._ceiling / peaks[over]) ** 2 * _REPAIR_FACTOR
            spread = running_min(factors, CONTEXT_AFTER, CONTEXT_BEFORE, 1.0)
            spread[:kept] = 1.0
            need = need * spread
        else:
            logger.warning("limiter: true peak still over the ceiling after %d repairs", MAX_REPAIRS)
        emitted = output[kept : kept + count]
        end = kept + count
        self._frames = frames[end - self._history :]
        self._gains = gains[end - self._history : end].astype(np.float32)
        self._pending -= count
        self._downstream.consume(emitted)

    def _smooth(self, need: np.ndarray) -> np.ndarray:
        """The gain per frame: ``need`` held, then smoothed. Computed only over the stretch around the frames that
        need less than unity (speech often has none in a block): beyond it every window holds unity alone, so the
        gain is exactly 1, and the stretch keeps a margin of unity wide enough for the means' edges."""
        gains = np.ones(len(need), dtype=np.float32)
        below = np.flatnonzero(need < 1.0)
        if len(below) == 0:
            return gains
        start = max(0, int(below[0]) - self._ahead - 4 * self._ramp)
        end = min(len(need), int(below[-1]) + self._behind + 4 * self._ramp + 1)
        held = running_min(need[start:end], self._behind, self._ahead, 1.0)
        gains[start:end] = running_mean(running_mean(held, self._ramp), self._ramp)
        return gains


def _pad(frames: np.ndarray) -> np.ndarray:
    """``frames`` with silence (zeros, ``False``) around it along the first axis, so every frame gets a peak (the
    edges are never passed on unchecked). Written out: ``np.pad`` costs more than the copy on blocks this size."""
    padded = np.zeros((CONTEXT_BEFORE + len(frames) + CONTEXT_AFTER, *frames.shape[1:]), dtype=frames.dtype)
    padded[CONTEXT_BEFORE : CONTEXT_BEFORE + len(frames)] = frames
    return padded
