"""How much loudness a peak limiter will take off at a given gain, known before limiting.

While a program is measured, ``HeadroomMeter`` sorts its energy by the loudest sample near it (the peak held over
``HOLD_S`` on each side, as the limiter holds its gain) into ``BIN_DB`` bins. At a gain G under a ceiling C, a
stretch held at peak P loses ``max(0, P + G - C)`` dB, so the energy left, and with it the loudness lost, follows
from the bins alone. The profile is a few hundred numbers, stored with the version like its loudness, so a render
sets a gain that lands on the target after limiting without measuring the program again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from common.audio.running import running_min

BLOCK_FRAMES = 64
HOLD_S = 0.015
BIN_DB = 0.25
LOWEST_DB = -60.0
HIGHEST_DB = 12.0
_BINS = round((HIGHEST_DB - LOWEST_DB) / BIN_DB)


@dataclass(frozen=True, slots=True)
class Headroom:
    """Energy fractions by held peak: ``energy[i]`` is the share of the program's energy near peaks in bin
    ``LOWEST_DB + i * BIN_DB``."""

    energy: tuple[float, ...]

    def loss_db(self, gain_db: float, ceiling_db: float) -> float:
        """The loudness (dB) a limiter at ``ceiling_db`` takes off the program amplified by ``gain_db``."""
        if not self.energy:
            return 0.0
        peaks = LOWEST_DB + (np.arange(len(self.energy)) + 0.5) * BIN_DB
        reduction = np.maximum(0.0, peaks + gain_db - ceiling_db)
        kept = float(np.dot(np.asarray(self.energy), 10.0 ** (-reduction / 10.0)))
        return -10.0 * math.log10(max(kept, 1e-12))

    def to_json(self) -> dict[str, Any]:
        return {"lowestDb": LOWEST_DB, "binDb": BIN_DB, "energy": [round(value, 6) for value in self.energy]}


def headroom_from_json(value: Any) -> Headroom | None:
    """The stored profile, or ``None`` when it is missing or not in this module's layout."""
    if not isinstance(value, dict) or value.get("lowestDb") != LOWEST_DB or value.get("binDb") != BIN_DB:
        return None
    energy = value.get("energy")
    if not isinstance(energy, list) or len(energy) > _BINS:
        return None
    if not all(isinstance(item, int | float) and math.isfinite(item) and item >= 0 for item in energy):
        return None
    return Headroom(tuple(float(item) for item in energy))


class HeadroomMeter:
    """A chunk consumer (``common.audio.chunks``) of float32 (frames, channels) chunks; ``finish`` returns the
    ``Headroom`` profile."""

    def __init__(self, rate: int, channels: int) -> None:
        self._hold = max(1, round(HOLD_S * rate / BLOCK_FRAMES))
        self._carry = np.zeros((0, channels), dtype=np.float32)
        # Blocks not binned yet, after up to ``self._hold`` blocks already binned that their hold still reaches.
        self._peaks = np.zeros(0, dtype=np.float32)
        self._energies = np.zeros(0, dtype=np.float64)
        self._binned = 0
        self._bins = np.zeros(_BINS, dtype=np.float64)

    def consume(self, chunk: np.ndarray) -> None:
        frames = np.concatenate([self._carry, np.abs(np.asarray(chunk, dtype=np.float32))])
        whole = len(frames) // BLOCK_FRAMES * BLOCK_FRAMES
        self._carry = frames[whole:]
        if whole:
            self._add(frames[:whole].reshape(-1, BLOCK_FRAMES, frames.shape[1]), final=False)

    def finish(self) -> Headroom:
        self._add(self._carry[np.newaxis], final=True)
        total = float(self._bins.sum())
        if total <= 0:
            return Headroom(())
        used = int(np.flatnonzero(self._bins)[-1]) + 1
        return Headroom(tuple(float(value) for value in self._bins[:used] / total))

    def _add(self, blocks: np.ndarray, *, final: bool) -> None:
        if blocks.size:
            squares = np.einsum("ijk,ijk->i", blocks, blocks, dtype=np.float64)
            self._peaks = np.concatenate([self._peaks, blocks.max(axis=(1, 2))])
            self._energies = np.concatenate([self._energies, squares])
        # Silence lies around the program; a running maximum of peaks is a running minimum of their negatives.
        held = -running_min(-self._peaks, self._hold, self._hold, 0.0)
        ready = len(self._peaks) if final else len(self._peaks) - self._hold
        if ready > self._binned:
            with np.errstate(divide="ignore"):
                levels = 20.0 * np.log10(np.maximum(held[self._binned : ready], 1e-9))
            index = np.clip(((levels - LOWEST_DB) / BIN_DB).astype(np.int64), 0, _BINS - 1)
            self._bins += np.bincount(index, weights=self._energies[self._binned : ready], minlength=_BINS)
            drop = max(0, ready - self._hold)
            self._peaks = self._peaks[drop:]
            self._energies = self._energies[drop:]
            self._binned = ready - drop
