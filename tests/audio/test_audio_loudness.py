"""Loudness of signals whose loudness theory predicts (BS.1770-4), measured by the engine's meter and ingest."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from common.audio.ingest import ingest_file
from common.audio.loudness import LoudnessMeter
from tests.audio.bs1770 import integrated_loudness, k_weighting_coefficients, sine_loudness, true_peak_db
from tests.support.audio_samples import sine, write_audio


def _nothing(*_args: object) -> None:
    return None


def _measure(samples: np.ndarray, rate: int):
    meter = LoudnessMeter(rate, samples.shape[1])
    for start in range(0, len(samples), 10_000):
        meter.consume(samples[start : start + 10_000])
    return meter.finish()


def test_reference_filter_matches_the_standard_coefficients_at_48k() -> None:
    (shelf_b, shelf_a), (high_b, high_a) = k_weighting_coefficients(48000)
    # The values printed in ITU-R BS.1770-4, tables 1 and 2.
    assert shelf_b == pytest.approx([1.53512485958697, -2.69169618940638, 1.19839281085285], abs=1e-9)
    assert shelf_a[1:] == pytest.approx([-1.69065929318241, 0.73248077421585], abs=1e-9)
    assert high_b == pytest.approx([1.0, -2.0, 1.0])
    assert high_a[1:] == pytest.approx([-1.99004745483398, 0.99007225036621], abs=1e-9)


@pytest.mark.parametrize(
    ("channels", "peak_db", "rate", "expected_lufs"),
    [
        # A 997 Hz sine at -20 dBFS peak reads -23.0 LUFS in one channel and 3 dB more in two (channel sum).
        (1, -20.0, 48000, -23.0),
        (2, -20.0, 48000, -20.0),
        (2, -23.0, 44100, -23.0),
    ],
)
def test_sine_of_known_level_reads_the_expected_loudness(
    channels: int, peak_db: float, rate: int, expected_lufs: float
) -> None:
    theory = sine_loudness([10 ** (peak_db / 20)] * channels, 997.0, rate)
    assert theory == pytest.approx(expected_lufs, abs=0.05)
    samples = sine(10.0, rate=rate, channels=channels, peak_db=peak_db)
    assert integrated_loudness(samples, rate) == pytest.approx(theory, abs=0.05)

    measured = _measure(samples, rate)

    assert measured.integrated_lufs == pytest.approx(theory, abs=0.5)
    assert measured.true_peak_dbtp == pytest.approx(peak_db, abs=0.5)
    # RMS of a sine is its peak less 3.01 dB.
    assert measured.rms_db == pytest.approx(peak_db - 10 * math.log10(2), abs=0.01)


def test_true_peak_finds_the_peak_between_samples() -> None:
    # A quarter-rate sine sampled 45 degrees off its crests: every sample sits 3 dB under the true peak. It eases
    # in and out, since a meter reads a step from silence as an overshoot of its own.
    rate = 48000
    phase = 2 * np.pi * np.arange(rate * 5) / 4 + np.pi / 4
    ramp = np.sin(np.pi / 2 * np.arange(rate // 10) / (rate // 10)) ** 2
    envelope = np.concatenate([ramp, np.ones(len(phase) - 2 * len(ramp)), ramp[::-1]])
    wave = (10 ** (-6 / 20)) * np.sin(phase) * envelope
    samples = np.stack([wave, wave], axis=1).astype(np.float32)

    measured = _measure(samples, rate)

    assert measured.sample_peak_db == pytest.approx(-9.0, abs=0.05)
    assert true_peak_db(samples) == pytest.approx(-6.0, abs=0.1)
    assert measured.true_peak_dbtp == pytest.approx(-6.0, abs=0.5)


def test_ingest_measures_the_file_it_reads(tmp_path: Path) -> None:
    samples = sine(6.0, rate=44100, channels=2, peak_db=-12.0)
    source = write_audio(tmp_path / "sine.flac", samples, rate=44100, kind="flac")

    outcome = ingest_file(source, tmp_path / "out", max_duration_s=60, on_progress=_nothing, check_cancel=_nothing)

    loudness = outcome.files.loudness
    assert loudness.integrated_lufs == pytest.approx(sine_loudness([10 ** (-12 / 20)] * 2, 997.0, 44100), abs=0.5)
    assert loudness.true_peak_dbtp == pytest.approx(-12.0, abs=0.5)
    assert loudness.loudness_range_lu == pytest.approx(0.0, abs=0.5)


def test_silence_has_no_integrated_loudness() -> None:
    measured = _measure(np.zeros((48000 * 3, 2), dtype=np.float32), 48000)

    assert measured.integrated_lufs is None
    assert measured.true_peak_dbtp is None
    assert measured.to_json()["rmsDb"] is None
