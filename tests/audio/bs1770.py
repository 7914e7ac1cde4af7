"""An independent NumPy measurement per ITU-R BS.1770-4, to check the engine's figures against.

The K-weighting filter (the standard's two biquads, designed for any rate as libebur128 does) is applied in the
frequency domain on the zero-padded signal, so no IIR loop is needed; the gating follows the standard (400 ms
blocks, 75 % overlap, -70 LUFS absolute and -10 LU relative gates). True peak is the peak of the signal
oversampled 4x by band-limited (FFT) interpolation.
"""

from __future__ import annotations

import math

import numpy as np

# Analog prototype of the K-weighting pre-filter (high shelf) and RLB high-pass.
SHELF_F0 = 1681.974450955533
SHELF_GAIN_DB = 3.999843853973347
SHELF_Q = 0.7071752369554196
HIGHPASS_F0 = 38.13547087602444
HIGHPASS_Q = 0.5003270373238773


def k_weighting_coefficients(rate: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(b, a) of the two biquads at ``rate``."""
    k = math.tan(math.pi * SHELF_F0 / rate)
    vh = 10 ** (SHELF_GAIN_DB / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / SHELF_Q + k * k
    shelf_b = np.array(
        [(vh + vb * k / SHELF_Q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / SHELF_Q + k * k) / a0]
    )
    shelf_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / SHELF_Q + k * k) / a0])
    k = math.tan(math.pi * HIGHPASS_F0 / rate)
    a0 = 1 + k / HIGHPASS_Q + k * k
    high_b = np.array([1.0, -2.0, 1.0])
    high_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / HIGHPASS_Q + k * k) / a0])
    return [(shelf_b, shelf_a), (high_b, high_a)]


def k_weighting_response(frequencies: np.ndarray, rate: int) -> np.ndarray:
    """Complex response of the K-weighting filter at ``frequencies`` (Hz)."""
    z = np.exp(-2j * np.pi * np.asarray(frequencies, dtype=np.float64) / rate)
    response = np.ones_like(z)
    for b, a in k_weighting_coefficients(rate):
        response *= (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)
    return response


def sine_loudness(amplitudes: list[float], frequency: float, rate: int) -> float:
    """Theory: the loudness of a steady sine of the given peak amplitude in each (front) channel."""
    gain = abs(k_weighting_response(np.array([frequency]), rate)[0]) ** 2
    return -0.691 + 10 * math.log10(sum(amplitude**2 / 2 * gain for amplitude in amplitudes))


def integrated_loudness(samples: np.ndarray, rate: int) -> float:
    """Gated integrated loudness (LUFS) of float samples shaped (frames, channels), front channels only."""
    frames = len(samples)
    size = 1 << math.ceil(math.log2(2 * frames))
    frequencies = np.fft.rfftfreq(size, 1 / rate)
    response = k_weighting_response(frequencies, rate)
    weighted = np.fft.irfft(np.fft.rfft(samples.astype(np.float64), size, axis=0) * response[:, None], size, axis=0)
    weighted = weighted[:frames]
    block = round(0.4 * rate)
    step = round(0.1 * rate)
    starts = range(0, frames - block + 1, step)
    powers = np.array([np.mean(weighted[start : start + block] ** 2, axis=0).sum() for start in starts])
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10 * np.log10(powers)
    above_absolute = powers[loudness > -70.0]
    if len(above_absolute) == 0:
        return -math.inf
    relative_gate = -0.691 + 10 * math.log10(above_absolute.mean()) - 10.0
    gated = powers[(loudness > -70.0) & (loudness > relative_gate)]
    return -0.691 + 10 * math.log10(gated.mean())


def true_peak_db(samples: np.ndarray, factor: int = 4) -> float:
    """Peak (dBTP) of the signal oversampled ``factor`` times by FFT interpolation."""
    # Silence on both sides, as a meter reading a file sees it.
    padded = np.pad(samples.astype(np.float64), ((len(samples) // 2, len(samples) // 2), (0, 0)))
    frames = len(padded)
    spectrum = np.fft.rfft(padded, axis=0)
    oversampled = np.fft.irfft(spectrum, frames * factor, axis=0) * factor
    return 20 * math.log10(float(np.max(np.abs(oversampled))))


def rms_db(samples: np.ndarray) -> float:
    return 10 * math.log10(float(np.mean(samples.astype(np.float64) ** 2)))


def sample_peak_db(samples: np.ndarray) -> float:
    return 20 * math.log10(float(np.max(np.abs(samples))))
