"""Speech-like test material with a known layout: phrases of voiced syllables (a gliding pitch with harmonics under
formant weights) and unvoiced bursts (high-passed noise), separated by pauses of chosen lengths. Because the clean
signal and where each sound is are known, a test can measure what a repair did to the speech and to the pauses."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

RAMP_S = 0.005


@dataclass
class SpeechLayout:
    """The clean signal (mono float64) and, per sample, the phrase it belongs to (-1 in pauses)."""

    rate: int
    signal: np.ndarray = field(default_factory=lambda: np.zeros(0))
    phrase: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pauses: list[tuple[int, int]] = field(default_factory=list)

    @property
    def speech(self) -> np.ndarray:
        return self.phrase >= 0

    @property
    def pause_mask(self) -> np.ndarray:
        mask = np.zeros(len(self.signal), dtype=bool)
        for start, end in self.pauses:
            mask[start:end] = True
        return mask


def _ramp(length: int, rate: int) -> np.ndarray:
    ramp = min(length // 2, round(RAMP_S * rate))
    envelope = np.ones(length)
    edge = np.sin(np.pi / 2 * (np.arange(ramp) + 0.5) / ramp) ** 2
    envelope[:ramp] = edge
    envelope[length - ramp :] = edge[::-1]
    return envelope


def _voiced(rng: np.random.Generator, rate: int, pitch_hz: tuple[float, float]) -> np.ndarray:
    length = int(rate * rng.uniform(0.15, 0.3))
    t = np.arange(length) / rate
    low, high = pitch_hz
    pitch = low + (high - low) * (0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(1.0, 3.0) * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    formant = rng.uniform(500.0, 1200.0)
    voiced = np.zeros(length)
    for harmonic in range(1, 25):
        weight = 1.0 / harmonic * math.exp(-(((harmonic * 150.0 - formant) / 1200.0) ** 2)) + 0.02 / harmonic
        voiced += weight * np.sin(harmonic * phase)
    syllable = voiced * (0.6 + 0.4 * np.sin(np.pi * np.arange(length) / length)) * _ramp(length, rate)
    return syllable / np.sqrt(np.mean(syllable**2))


def _unvoiced(rng: np.random.Generator, rate: int) -> np.ndarray:
    length = int(rate * rng.uniform(0.05, 0.1))
    noise = np.diff(rng.normal(0.0, 1.0, length + 1))
    burst = noise * _ramp(length, rate)
    return burst / np.sqrt(np.mean(burst**2)) * 0.5


def speech_layout(
    rate: int,
    phrases: list[tuple[float, float]],
    pauses_s: list[float],
    *,
    seed: int = 11,
    pitch_hz: tuple[float, float] = (110.0, 140.0),
) -> SpeechLayout:
    """``phrases`` are (seconds, RMS dB of its sounds); ``pauses_s[i]`` is the pause before phrase ``i`` (one more
    at the end when it is one longer)."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    layout = SpeechLayout(rate)
    position = 0

    def add(samples: np.ndarray, label: int) -> None:
        nonlocal position
        parts.append(samples)
        labels.append(np.full(len(samples), label, dtype=np.int64))
        position += len(samples)

    for index, (seconds, level_db) in enumerate(phrases):
        pause = round(pauses_s[index] * rate)
        layout.pauses.append((position, position + pause))
        add(np.zeros(pause), -1)
        amplitude = 10.0 ** (level_db / 20.0)
        end = position + round(seconds * rate)
        while True:
            sound = _voiced(rng, rate, pitch_hz) if rng.random() < 0.8 else _unvoiced(rng, rate)
            add(sound * amplitude, index)
            if position >= end:
                break
            add(np.zeros(int(rate * rng.uniform(0.03, 0.08))), -2)
    if len(pauses_s) > len(phrases):
        pause = round(pauses_s[-1] * rate)
        layout.pauses.append((position, position + pause))
        add(np.zeros(pause), -1)
    layout.signal = np.concatenate(parts)
    layout.phrase = np.concatenate(labels)
    return layout


def white_noise(frames: int, level_db: float, seed: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 10.0 ** (level_db / 20.0), frames)


def pink_noise(frames: int, level_db: float, seed: int = 6, rate: int = 48000) -> np.ndarray:
    """Noise whose power falls 3 dB per octave from 20 Hz up, shaped in the frequency domain, at ``level_db`` RMS."""
    spectrum = np.fft.rfft(np.random.default_rng(seed).normal(0.0, 1.0, frames))
    frequencies = np.fft.rfftfreq(frames, 1.0 / rate)
    audible = frequencies >= 20.0
    spectrum[audible] /= np.sqrt(frequencies[audible])
    spectrum[~audible] = 0.0
    noise = np.fft.irfft(spectrum, n=frames)
    return noise / np.sqrt(np.mean(noise**2)) * 10.0 ** (level_db / 20.0)


def hum(frames: int, rate: int, frequency: float, level_db: float, harmonics: int = 6) -> np.ndarray:
    """Mains hum: ``frequency`` at ``level_db`` RMS and its harmonics, each 4 dB weaker than the one below."""
    t = np.arange(frames) / rate
    wave = np.zeros(frames)
    for harmonic in range(1, harmonics + 1):
        amplitude = math.sqrt(2) * 10.0 ** ((level_db - 4.0 * (harmonic - 1)) / 20.0)
        wave += amplitude * np.sin(2 * np.pi * frequency * harmonic * t + harmonic)
    return wave


def level_db(samples: np.ndarray) -> float:
    """RMS level in dB of all the samples given."""
    return 10.0 * math.log10(max(float(np.mean(np.square(samples, dtype=np.float64))), 1e-30))


def tone_level_db(samples: np.ndarray, rate: int, frequency: float) -> float:
    """The RMS level in dB of the component of ``samples`` at exactly ``frequency`` (a projection)."""
    t = np.arange(len(samples)) / rate
    cosine = float(np.dot(samples, np.cos(2 * np.pi * frequency * t)))
    sine_part = float(np.dot(samples, np.sin(2 * np.pi * frequency * t)))
    amplitude = 2.0 * math.hypot(cosine, sine_part) / len(samples)
    return 20.0 * math.log10(max(amplitude / math.sqrt(2), 1e-30))
