"""The compliance report of a delivered file: every figure a platform checks, measured on what a player decodes,
beside the preset's limit for it, each with pass or fail.

The render measures the file as it writes it: a lossy file's packets decoded back (the writer's monitor: LAME's
MP3 frames through ``Mp3Writer``'s, other codecs through ``AudioWriter``'s), a lossless file's samples (what it
decodes to). ``DeliveryMeter`` adds the noise floor to the loudness meter there:
the RMS level of the quietest ``NOISE_WINDOW_S`` window, as ACX measures room tone. Windows of digital silence
(below ``DIGITAL_SILENCE_DB``) hold no noise to measure and are skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from common.audio.loudness import Loudness, LoudnessMeter
from common.render_options import RenderTargets

NOISE_WINDOW_S = 0.5
DIGITAL_SILENCE_DB = -120.0
# How far from an integrated loudness target a file still complies (EBU R128's tolerance for programmes).
LEVEL_TOLERANCE_LU = 0.5
# A true peak this much over the ceiling still passes: the rounding of a 4x-oversampled estimate.
PEAK_TOLERANCE_DB = 0.05


class NoiseFloorMeter:
    """A chunk consumer (``common.audio.chunks``): the RMS level (dB, all channels) of the quietest window that is
    not digital silence, or ``None`` when every window is."""

    def __init__(self, rate: int) -> None:
        self._window = max(1, round(NOISE_WINDOW_S * rate))
        self._filled = 0
        self._sum = 0.0
        self._values = 0
        self._quietest: float | None = None

    def consume(self, chunk: np.ndarray) -> None:
        if len(chunk) == 0:
            return
        # Sums of squares per frame, then per window, in float64 with ufuncs: ``np.dot`` hands float64 vectors to
        # OpenBLAS, whose thread pool wakes for every call and fights the render's threads for the cores.
        energy = np.square(chunk, dtype=np.float64).sum(axis=1)
        channels = chunk.shape[1]
        position = 0
        if self._filled:
            position = min(self._window - self._filled, len(energy))
            self._add(float(energy[:position].sum()), position, channels)
        whole = (len(energy) - position) // self._window * self._window
        if whole:
            for total in energy[position : position + whole].reshape(-1, self._window).sum(axis=1).tolist():
                self._add(total, self._window, channels)
            position += whole
        if position < len(energy):
            self._add(float(energy[position:].sum()), len(energy) - position, channels)

    def _add(self, total: float, frames: int, channels: int) -> None:
        self._sum += total
        self._values += frames * channels
        self._filled += frames
        if self._filled == self._window:
            self._close_window()

    def finish(self) -> float | None:
        if self._quietest is None and self._filled:
            self._close_window()
        if self._quietest is None:
            return None
        return 10.0 * math.log10(self._quietest)

    def _close_window(self) -> None:
        mean_square = self._sum / max(self._values, 1)
        audible = mean_square > 10.0 ** (DIGITAL_SILENCE_DB / 10.0)
        if audible and (self._quietest is None or mean_square < self._quietest):
            self._quietest = mean_square
        self._filled = 0
        self._sum = 0.0
        self._values = 0


@dataclass(frozen=True, slots=True)
class Delivered:
    """What ``DeliveryMeter`` measured."""

    loudness: Loudness
    noise_floor_db: float | None


class DeliveryMeter:
    """A chunk consumer: the loudness meter (with true peak) and the noise floor of the same stream."""

    def __init__(self, rate: int, channels: int) -> None:
        self._loudness = LoudnessMeter(rate, channels)
        self._noise = NoiseFloorMeter(rate)

    def consume(self, chunk: np.ndarray) -> None:
        self._loudness.consume(chunk)
        self._noise.consume(chunk)

    def finish(self) -> Delivered:
        return Delivered(self._loudness.finish(), self._noise.finish())


@dataclass(frozen=True, slots=True)
class Check:
    """One figure of the report; ``passed`` is ``None`` when the preset sets no limit on it."""

    name: str
    unit: str
    measured: float | int | None
    minimum: float | None
    maximum: float | None
    passed: bool | None

    def to_json(self) -> dict[str, object]:
        measured = self.measured
        if isinstance(measured, float):
            measured = round(measured, 2)
        return {
            "name": self.name,
            "unit": self.unit,
            "measured": measured,
            "min": self.minimum,
            "max": self.maximum,
            "passed": self.passed,
        }


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(check.passed is not False for check in self.checks)

    def to_json(self) -> dict[str, object]:
        return {"passed": self.passed, "checks": [check.to_json() for check in self.checks]}


def compliance_report(
    targets: RenderTargets, delivered: Delivered, *, sample_rate: int, channels: int
) -> ComplianceReport:
    """``delivered`` checked against ``targets`` (the preset's, with the request's own targets over them)."""
    loudness = delivered.loudness
    checks = [_integrated(targets, loudness.integrated_lufs)]
    checks.append(Check("loudnessRange", "LU", loudness.loudness_range_lu, None, None, None))
    peak = loudness.true_peak_dbtp
    ceiling = targets.true_peak_db
    # No true peak means digital silence, which is under any ceiling.
    checks.append(
        Check(
            "truePeak",
            "dBTP",
            peak,
            None,
            ceiling,
            None if ceiling is None else peak is None or peak <= ceiling + PEAK_TOLERANCE_DB,
        )
    )
    rms = loudness.rms_db
    low, high = targets.rms_db_min, targets.rms_db_max
    in_window = None if low is None or high is None else rms is not None and low <= rms <= high
    checks.append(Check("rms", "dB", rms, low, high, in_window))
    floor = delivered.noise_floor_db
    floor_max = targets.noise_floor_db_max
    checks.append(
        Check(
            "noiseFloor",
            "dB",
            floor,
            None,
            floor_max,
            None if floor_max is None else floor is None or floor <= floor_max,
        )
    )
    checks.append(_exact("sampleRate", "Hz", sample_rate, targets.sample_rate))
    checks.append(_exact("channels", "", channels, targets.channels))
    return ComplianceReport(tuple(checks))


def _integrated(targets: RenderTargets, measured: float | None) -> Check:
    aim = targets.integrated_lufs
    if aim is None:
        return Check("integratedLoudness", "LUFS", measured, None, None, None)
    low, high = aim - LEVEL_TOLERANCE_LU, aim + LEVEL_TOLERANCE_LU
    return Check("integratedLoudness", "LUFS", measured, low, high, measured is not None and low <= measured <= high)


def _exact(name: str, unit: str, measured: int, wanted: int | None) -> Check:
    bound = None if wanted is None else float(wanted)
    return Check(name, unit, measured, bound, bound, None if wanted is None else measured == wanted)
