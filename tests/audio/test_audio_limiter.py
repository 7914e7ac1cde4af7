"""The true-peak limiter: its output's true peak, measured independently (4x FFT interpolation, ``bs1770``), never
exceeds the ceiling on signals made to defeat sample-peak limiters, and audio already under it passes unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from common.audio.limiter import TruePeakLimiter
from tests.audio.bs1770 import true_peak_db
from tests.support.audio_samples import speech_like

RATE = 48000
CEILING_DB = -1.0


class Collected:
    """The chunks a limiter passes on, joined by ``finish``."""

    def __init__(self, channels: int) -> None:
        self.chunks: list[np.ndarray] = [np.zeros((0, channels), dtype=np.float32)]

    def consume(self, chunk: np.ndarray) -> None:
        self.chunks.append(chunk.copy())

    def finish(self) -> np.ndarray:
        return np.concatenate(self.chunks)


def _limit(signal: np.ndarray, *, gain_db: float, chunk_frames: int = 10_000) -> np.ndarray:
    limiter = TruePeakLimiter(
        Collected(signal.shape[1]), rate=RATE, channels=signal.shape[1], gain_db=gain_db, ceiling_db=CEILING_DB
    )
    for start in range(0, len(signal), chunk_frames):
        limiter.consume(signal[start : start + chunk_frames])
    return limiter.finish()


def _stereo(wave: np.ndarray) -> np.ndarray:
    return np.stack([wave, -0.9 * wave], axis=1).astype(np.float32)


def _square(frequency: float, seconds: float = 2.0, phase: float = 0.1) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return np.sign(np.sin(2 * np.pi * frequency * t + phase))


HARD_SIGNALS = {
    # Full scale, all harmonics folded up to Nyquist: the ideal interpolation rings well above the samples.
    "square-997": _stereo(_square(997.0)),
    "square-5k": _stereo(_square(5000.0, phase=0.3)),
    # A quarter-rate sine sampled 45 degrees off its crests: every sample is 3 dB under the true peak.
    "quarter-rate-sine": _stereo(np.sin(np.pi / 2 * np.arange(2 * RATE) + np.pi / 4)),
    # Pairs of equal samples of alternating sign: the peak lies halfway between them.
    "intersample-pairs": _stereo(np.tile([0.0, 1.0, 1.0, 0.0, -1.0, -1.0], RATE // 3)),
    # A quiet passage, then full scale at once, then silence, then full scale again.
    "steps": _stereo(
        np.concatenate([0.05 * _square(440.0, 1.0), _square(440.0, 1.0), np.zeros(RATE // 2), _square(3000.0, 0.5)])
    ),
}


@pytest.mark.parametrize("gain_db", [0.0, 6.0])
@pytest.mark.parametrize("name", sorted(HARD_SIGNALS))
def test_true_peak_of_the_output_never_exceeds_the_ceiling(name: str, gain_db: float) -> None:
    signal = HARD_SIGNALS[name]
    assert true_peak_db(signal * 10 ** (gain_db / 20)) > CEILING_DB + 1.0

    limited = _limit(signal, gain_db=gain_db)

    assert limited.shape == signal.shape
    assert true_peak_db(limited) <= CEILING_DB


def test_audio_under_the_ceiling_passes_with_the_gain_alone() -> None:
    signal = np.concatenate(list(speech_like(5.0, rate=RATE, channels=2, peak_db=-12.0)))

    limited = _limit(signal, gain_db=3.0)

    np.testing.assert_allclose(limited, signal * np.float32(10 ** (3.0 / 20)), atol=1e-6)


def test_the_output_does_not_depend_on_how_the_stream_is_cut() -> None:
    signal = np.concatenate(list(speech_like(5.0, rate=RATE, channels=1, peak_db=-3.0)))

    small = _limit(signal, gain_db=6.0, chunk_frames=1_000)
    large = _limit(signal, gain_db=6.0, chunk_frames=50_000)

    assert true_peak_db(small) <= CEILING_DB
    # 6 dB of gain into a -1 dBTP ceiling: the limiter is at work, and its gain follows the audio, not the cuts.
    assert not np.allclose(small, signal * np.float32(10 ** (6.0 / 20)), atol=1e-3)
    np.testing.assert_allclose(small, large, atol=1e-5)
