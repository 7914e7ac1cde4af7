"""The true-peak detector: its matrix-product filtering gives, for every frame, the points between samples the
interpolation filters define (checked against NumPy's convolution, to float32 rounding), with the context and
skipping rules unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from common.audio.truepeak import CONTEXT_AFTER, CONTEXT_BEFORE, OVERSAMPLING, PHASE_FILTERS, frame_peaks


def _reference(padded: np.ndarray) -> np.ndarray:
    """Per-frame true peak by the definition: each phase's filter convolved over each channel."""
    count = len(padded) - CONTEXT_BEFORE - CONTEXT_AFTER
    peaks = np.abs(padded[CONTEXT_BEFORE : CONTEXT_BEFORE + count]).max(axis=1).astype(np.float64)
    for channel in range(padded.shape[1]):
        for phase in range(OVERSAMPLING - 1):
            points = np.convolve(padded[:, channel].astype(np.float64), PHASE_FILTERS[::-1, phase], mode="valid")
            peaks = np.maximum(peaks, np.abs(points))
    return peaks


@pytest.mark.parametrize("frames", [1, 63, 64, 511, 4096, 4097, 20_000])
@pytest.mark.parametrize("channels", [1, 2])
def test_frame_peaks_match_the_filters_by_definition(frames: int, channels: int) -> None:
    rng = np.random.default_rng(frames * channels)
    signal = rng.uniform(-1.0, 1.0, (frames + CONTEXT_BEFORE + CONTEXT_AFTER, channels)).astype(np.float32)
    # Full-scale square bursts: their points between samples overshoot the samples.
    signal[::37] = np.sign(signal[::37])

    peaks = frame_peaks(signal)

    assert peaks.shape == (frames,)
    np.testing.assert_allclose(peaks, _reference(signal), rtol=2e-6, atol=2e-7)
    assert (peaks >= np.abs(signal[CONTEXT_BEFORE : CONTEXT_BEFORE + frames]).max(axis=1)).all()


def test_quiet_stretches_and_unchanged_ones_keep_their_sample_peaks() -> None:
    signal = np.zeros((3 * 4096 + CONTEXT_BEFORE + CONTEXT_AFTER, 1), dtype=np.float32)
    signal[100::2] = 0.5
    signal[101::2] = -0.5
    changed = np.zeros(len(signal), dtype=bool)

    assert np.array_equal(frame_peaks(signal, floor=10.0), np.abs(signal[CONTEXT_BEFORE:-CONTEXT_AFTER, 0]))
    assert np.array_equal(frame_peaks(signal, changed=changed), np.abs(signal[CONTEXT_BEFORE:-CONTEXT_AFTER, 0]))
    assert frame_peaks(signal).max() > 0.5
