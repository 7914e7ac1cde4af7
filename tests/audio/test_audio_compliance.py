"""The compliance report: each figure against its preset's limit, and the noise floor meter."""

from __future__ import annotations

import numpy as np
import pytest

from common.audio.compliance import Delivered, NoiseFloorMeter, compliance_report
from common.audio.loudness import Loudness
from common.render_options import PRESET_TARGETS

RATE = 48000


def _delivered(lufs: float | None, peak: float | None, rms: float | None, floor: float | None) -> Delivered:
    return Delivered(Loudness(lufs, 6.0, peak, rms, peak), floor)


def _checks(report) -> dict[str, bool | None]:
    return {check.name: check.passed for check in report.checks}


def test_a_file_on_target_passes_and_every_miss_is_named() -> None:
    targets = PRESET_TARGETS["spotify"]
    on_target = compliance_report(targets, _delivered(-14.2, -1.3, -17.0, -70.0), sample_rate=44100, channels=2)
    assert on_target.passed
    assert _checks(on_target) == {
        "integratedLoudness": True, "loudnessRange": None, "truePeak": True, "rms": None, "noiseFloor": None,
        "sampleRate": True, "channels": None,
    }  # fmt: skip

    missed = compliance_report(targets, _delivered(-15.0, -0.5, -18.0, -70.0), sample_rate=48000, channels=2)
    assert not missed.passed
    assert [name for name, passed in _checks(missed).items() if passed is False] == [
        "integratedLoudness", "truePeak", "sampleRate",
    ]  # fmt: skip


def test_acx_checks_rms_peak_and_noise_floor() -> None:
    targets = PRESET_TARGETS["audiobook-acx"]
    quiet_room = compliance_report(targets, _delivered(None, -3.5, -20.0, -65.0), sample_rate=44100, channels=1)
    assert quiet_room.passed
    noisy_room = compliance_report(targets, _delivered(None, -3.5, -20.0, -55.0), sample_rate=44100, channels=1)
    assert _checks(noisy_room)["noiseFloor"] is False
    assert not noisy_room.passed
    too_quiet = compliance_report(targets, _delivered(None, -10.0, -25.0, -65.0), sample_rate=44100, channels=1)
    assert _checks(too_quiet)["rms"] is False
    assert quiet_room.to_json()["checks"][4] == {
        "name": "noiseFloor", "unit": "dB", "measured": -65.0, "min": None, "max": -60.0, "passed": True,
    }  # fmt: skip


def test_the_noise_floor_is_the_quietest_half_second_that_is_not_digital_silence() -> None:
    rng = np.random.default_rng(1)
    loud = rng.normal(0, 0.1, RATE * 3)
    room = rng.normal(0, 10 ** (-62 / 20), RATE)
    signal = np.concatenate([np.zeros(RATE), loud[:RATE], room, loud[RATE:]])[:, np.newaxis].astype(np.float32)
    meter = NoiseFloorMeter(RATE)
    for start in range(0, len(signal), 7000):
        meter.consume(signal[start : start + 7000])

    assert meter.finish() == pytest.approx(-62.0, abs=0.3)


def test_digital_silence_has_no_noise_floor() -> None:
    meter = NoiseFloorMeter(RATE)
    meter.consume(np.zeros((RATE * 2, 2), dtype=np.float32))
    assert meter.finish() is None
