"""Bringing a program to a level target (integrated loudness or RMS) under a true-peak ceiling, in two passes.

Measure, then apply a constant gain. When that gain would push peaks over the ceiling, a look-ahead limiter
(``common.audio.gains.Leveling``) holds them under it; limiting lowers the loudness a little, so the result is
measured again and the gain corrected until it lands within ``LEVEL_TOLERANCE_DB`` of the target.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from common.audio.gains import Leveling

logger = logging.getLogger(__name__)

LEVEL_TOLERANCE_DB = 0.2
# The limiter aims this far under the ceiling: true peaks between samples rise a little above sample peaks.
LIMITER_HEADROOM_DB = 0.5
MAX_CORRECTIONS = 3


@dataclass(frozen=True, slots=True)
class LevelTarget:
    """Aim at ``integrated_lufs`` or, when it is ``None``, at ``rms_db`` (neither: keep the level); keep true
    peaks under ``ceiling_db`` minus ``margin_db`` (room for a lossy encoder's overshoot)."""

    integrated_lufs: float | None = None
    rms_db: float | None = None
    ceiling_db: float | None = None
    margin_db: float = 0.0


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """What an analysis pass over a program found: sample peaks per block (dB) and loudness figures."""

    block_peaks_db: np.ndarray
    integrated_lufs: float | None = None
    true_peak_db: float | None = None
    rms_db: float | None = None


Verify = Callable[[Leveling], AnalysisResult]


def plan_leveling(target: LevelTarget, first: AnalysisResult, verify: Verify) -> Leveling:
    """The gain curve that meets ``target``, given ``first``, the measurement of the program as it is;
    ``verify(curve)`` measures it with ``curve`` added."""
    aim = _aim(target)
    level = _level(target, first)
    if aim is not None and level is None:
        logger.debug("leveling skipped: the audio is silent")
        return Leveling(0.0, 0.0, None)
    gain_db = 0.0 if aim is None or level is None else aim - level
    ceiling = None if target.ceiling_db is None else target.ceiling_db - target.margin_db
    if ceiling is None or first.true_peak_db is None or first.true_peak_db + gain_db <= ceiling:
        return Leveling(gain_db, 0.0, None)
    limit = ceiling - LIMITER_HEADROOM_DB
    curve = Leveling(gain_db, limit, first.block_peaks_db)
    for _ in range(MAX_CORRECTIONS):
        check = verify(curve)
        measured = _level(target, check)
        level_off = 0.0 if aim is None or measured is None else aim - measured
        peak_over = 0.0 if check.true_peak_db is None else check.true_peak_db - ceiling
        logger.debug("leveling check: %.2f dB from target, true peak %.2f dB over ceiling", level_off, peak_over)
        if abs(level_off) <= LEVEL_TOLERANCE_DB and peak_over <= 0:
            break
        gain_db += level_off
        if peak_over > 0:
            limit -= peak_over + 0.1
        curve = Leveling(gain_db, limit, first.block_peaks_db)
    return curve


def _aim(target: LevelTarget) -> float | None:
    """The level aimed at; ``None`` when only the peak ceiling matters."""
    if target.integrated_lufs is not None:
        return target.integrated_lufs
    return target.rms_db


def _level(target: LevelTarget, analysis: AnalysisResult) -> float | None:
    return analysis.integrated_lufs if target.integrated_lufs is not None else analysis.rms_db
