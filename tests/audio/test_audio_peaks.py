"""Waveform peaks: equal to a NumPy reference computed from the master, with the documented length."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from common.audio import peaks as peaks_module
from common.audio.ingest import ingest_file
from common.peaks import SHORT_TERM_KEY, rescale_peaks
from tests.support.audio_samples import read_audio, speech_like, write_audio


def _reference(samples: np.ndarray, samples_per_pixel: int) -> list[int]:
    """min/max per pixel and channel, channel-interleaved, 8-bit as documented: floor(x * 128) in -128..127."""
    values = np.clip(np.floor(samples.astype(np.float64) * 128), -128, 127).astype(int)
    data: list[int] = []
    for start in range(0, len(values), samples_per_pixel):
        window = values[start : start + samples_per_pixel]
        for channel in range(values.shape[1]):
            data += [int(window[:, channel].min()), int(window[:, channel].max())]
    return data


def _ingest(tmp_path: Path, seconds: float, channels: int = 2, rate: int = 44100) -> tuple[dict, np.ndarray]:
    signal = np.concatenate(list(speech_like(seconds, rate=rate, channels=channels, peak_db=-1.0)))
    # Make the channels differ, so interleaving mistakes show.
    if channels == 2:
        signal[:, 1] *= -0.5
    source = write_audio(tmp_path / "upload", signal, rate=rate, kind="flac")
    outcome = ingest_file(
        source, tmp_path / "out", max_duration_s=600, on_progress=lambda _: None, check_cancel=lambda: None
    )
    document = json.loads(outcome.files.peaks_path.read_text())
    master, _ = read_audio(outcome.files.master_path)
    return document, master


def test_peaks_equal_a_numpy_reference_and_have_the_documented_length(tmp_path: Path) -> None:
    document, master = _ingest(tmp_path, 7.3)

    spp = document["samples_per_pixel"]
    assert {key: document[key] for key in ("version", "channels", "sample_rate", "bits")} == {
        "version": 2,
        "channels": 2,
        "sample_rate": 44100,
        "bits": 8,
    }
    assert document["length"] == math.ceil(len(master) / spp)
    assert len(document["data"]) == document["length"] * 2 * 2
    assert document["data"] == _reference(master, spp)


def test_long_audio_is_stored_at_a_coarser_resolution_that_still_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(peaks_module, "MAX_STORED_PIXELS", 300)

    document, master = _ingest(tmp_path, 4.0, channels=1, rate=22050)

    spp = document["samples_per_pixel"]
    assert spp > peaks_module.BASE_SAMPLES_PER_PIXEL
    assert spp % peaks_module.BASE_SAMPLES_PER_PIXEL == 0
    assert document["length"] <= 300
    assert document["length"] == math.ceil(len(master) / spp)
    assert document["data"] == _reference(master, spp)


def test_coarser_zoom_levels_match_the_reference(tmp_path: Path) -> None:
    document, master = _ingest(tmp_path, 3.1)
    spp = document["samples_per_pixel"]

    for factor in (1, 2, 3, 7):
        zoomed = rescale_peaks(document, spp * factor)
        assert zoomed["samples_per_pixel"] == spp * factor
        assert zoomed["length"] == math.ceil(len(master) / (spp * factor))
        assert zoomed["data"] == _reference(master, spp * factor)


@pytest.mark.parametrize("samples_per_pixel", [0, -256, 100, 384, 2.0, True])
def test_zoom_levels_that_are_not_multiples_are_refused(samples_per_pixel: object) -> None:
    document = {
        "version": 2,
        "channels": 1,
        "sample_rate": 8000,
        "samples_per_pixel": 256,
        "bits": 8,
        "length": 2,
        "data": [-3, 4, -5, 6],
    }

    with pytest.raises(ValueError, match="samples_per_pixel"):
        rescale_peaks(document, samples_per_pixel)  # type: ignore[arg-type]


def test_malformed_documents_are_refused() -> None:
    with pytest.raises(ValueError, match="data"):
        rescale_peaks(
            {"version": 2, "channels": 2, "sample_rate": 8000, "samples_per_pixel": 256, "length": 2, "data": [1]},
            512,
        )


def test_the_peaks_carry_short_term_loudness_over_time(tmp_path: Path) -> None:
    rate = 44100
    loud = np.concatenate(list(speech_like(12.0, rate=rate, channels=1, peak_db=-1.0)))
    # Twelve seconds of speech, then twelve 20 dB quieter, then four of silence.
    signal = np.concatenate([loud, loud * 0.1, np.zeros((4 * rate, 1), dtype=np.float32)])
    source = write_audio(tmp_path / "upload", signal, rate=rate, kind="flac")
    outcome = ingest_file(
        source, tmp_path / "out", max_duration_s=600, on_progress=lambda _: None, check_cancel=lambda: None
    )
    document = json.loads(outcome.files.peaks_path.read_text())

    strip = document[SHORT_TERM_KEY]
    assert (strip["window_s"], strip["hop_s"]) == (3.0, 0.5)
    lufs = strip["lufs"]
    assert len(lufs) == 28 / 0.5
    # Each value sits at the middle of its window: well inside each part, the parts' levels 20 LU apart.
    loud_part = np.mean(lufs[6:18])
    quiet_part = np.mean(lufs[30:42])
    assert loud_part - quiet_part == pytest.approx(20.0, abs=1.0)
    assert loud_part == pytest.approx(outcome.files.loudness.integrated_lufs, abs=3.0)
    # Silence is null, not -inf or a floor value.
    assert lufs[-1] is None
    # Coarser zoom levels carry the strip unchanged.
    assert rescale_peaks(document, document["samples_per_pixel"] * 4)[SHORT_TERM_KEY] == strip
