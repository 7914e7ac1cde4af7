"""Faithful import by the engine: multichannel sources become a normalised stereo master whose reported loudness is
that of the stored file and of FFmpeg's own downmix; damaged files keep what decodes and say what was lost."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from common.audio.ingest import IngestOutcome, ingest_file
from common.audio.loudness import LoudnessMeter
from common.audio.source import clock
from common.errors import MediaError
from tests.support import audio_samples as samples
from tests.support.downmix import loud_multichannel, reference_stereo


def _nothing(*_args: object) -> None:
    return None


def _ingest(source: Path, out: Path) -> IngestOutcome:
    return ingest_file(source, out, max_duration_s=3600, on_progress=_nothing, check_cancel=_nothing)


def _measure(signal: np.ndarray, rate: int):
    meter = LoudnessMeter(rate, signal.shape[1])
    meter.consume(signal)
    return meter.finish()


@pytest.mark.parametrize(
    ("layout", "kind"), [("5.1", "wav"), ("5.1", "flac"), ("5.1", "m4a"), ("4.0", "wav"), ("quad", "flac")]
)
def test_a_multichannel_source_becomes_a_normalised_stereo_master_measured_as_stored(
    tmp_path: Path, layout: str, kind: str
) -> None:
    signal = loud_multichannel(12.0, layout)
    # Summed at FFmpeg's float weights (fronts + 0.707 x centre and surrounds) the mix would clip.
    assert np.abs(signal[:, 0] + 0.7071 * signal[:, 2:].sum(axis=1)).max() > 1.0
    source = samples.write_audio(tmp_path / f"surround.{kind}", signal, rate=48000, kind=kind, layout=layout)

    outcome = _ingest(source, tmp_path / "out")

    assert (outcome.files.channels, outcome.files.sample_rate) == (2, 48000)
    master, rate = samples.read_audio(outcome.files.master_path)
    assert master.shape[1] == 2
    # Never clips: the normalised matrix keeps every sample below full scale.
    assert np.abs(master).max() < 0.999
    reported = outcome.files.loudness
    stored = _measure(master, rate)
    assert reported.integrated_lufs == pytest.approx(stored.integrated_lufs, abs=0.05)
    assert reported.true_peak_dbtp == pytest.approx(stored.true_peak_dbtp, abs=0.05)
    assert reported.rms_db == pytest.approx(stored.rms_db, abs=0.05)
    reference, reference_rate, made_by = reference_stereo(source, tmp_path / "reference.wav")
    expected = _measure(reference, reference_rate)
    assert reported.integrated_lufs is not None
    assert expected.integrated_lufs is not None
    assert abs(reported.integrated_lufs - expected.integrated_lufs) < 1.0, made_by
    assert reported.rms_db == pytest.approx(expected.rms_db, abs=1.0), made_by
    assert reported.true_peak_dbtp == pytest.approx(expected.true_peak_dbtp, abs=1.0), made_by


def test_the_downmix_weights_centre_and_surrounds_at_minus_3_db_and_drops_the_lfe(tmp_path: Path) -> None:
    rate = 48000
    signal = np.zeros((rate * 4, 6), dtype=np.float32)
    tone = samples.sine(4.0, rate=rate, channels=1, peak_db=-6.0)[:, 0]
    signal[:, 2] = tone  # centre
    signal[:, 3] = 0.9  # LFE: a constant that would show in the mix if it were kept
    source = samples.write_audio(tmp_path / "centre.wav", signal, rate=rate, kind="wav")

    master, _ = samples.read_audio(_ingest(source, tmp_path / "out").files.master_path)

    # Left = (FL + 0.707 C + 0.707 SL) / (1 + 2 x 0.707): the centre reaches each side at 0.293.
    gain = 0.7071 / (1 + 2 * 0.7071)
    assert np.abs(master[:, 0]).max() == pytest.approx(gain * 10 ** (-6 / 20), rel=0.01)
    np.testing.assert_allclose(master[:, 0], master[:, 1], atol=1e-4)
    assert abs(float(master.mean())) < 1e-3


def test_a_float_source_beyond_full_scale_is_measured_as_the_clipped_master(tmp_path: Path) -> None:
    signal = samples.sine(4.0, rate=48000, channels=2, peak_db=6.0)
    source = samples.write_audio(tmp_path / "hot.wav", signal, rate=48000, kind="wavf32")

    outcome = _ingest(source, tmp_path / "out")

    master, rate = samples.read_audio(outcome.files.master_path)
    stored = _measure(master, rate)
    assert outcome.files.loudness.rms_db == pytest.approx(stored.rms_db, abs=0.05)
    assert outcome.files.loudness.integrated_lufs == pytest.approx(stored.integrated_lufs, abs=0.05)


def _speech(seconds: float, rate: int = 44100, channels: int = 1) -> np.ndarray:
    return np.concatenate(list(samples.speech_like(seconds, rate=rate, channels=channels)))


def test_an_mp3_cut_short_of_its_xing_frame_count_warns_with_what_was_recovered(tmp_path: Path) -> None:
    good = samples.write_audio(tmp_path / "good.mp3", _speech(30.0), rate=44100, kind="mp3", bitrate_kbps=64)
    assert b"Xing" in good.read_bytes()[:4096] or b"Info" in good.read_bytes()[:4096]
    cut = samples.truncate_file(good, tmp_path / "upload", keep_fraction=0.4)

    outcome = _ingest(cut, tmp_path / "out")

    assert outcome.files.duration_s == pytest.approx(12.0, abs=0.5)
    assert [warning.code for warning in outcome.warnings] == ["truncated"]
    assert "decoding stopped at 0:1" in outcome.warnings[0].message
    assert "of a declared 0:30" in outcome.warnings[0].message


def test_a_wav_whose_data_chunk_claims_more_than_exists_warns(tmp_path: Path) -> None:
    signal = samples.sine(12.0, rate=8000, channels=1)
    liar = samples.write_wav_pcm16(tmp_path / "upload", signal, rate=8000, claimed_data_bytes=8000 * 2 * 2850)

    outcome = _ingest(liar, tmp_path / "out")

    assert outcome.files.duration_s == pytest.approx(12.0, abs=1e-6)
    assert [warning.to_json() for warning in outcome.warnings] == [
        {
            "code": "truncated",
            "message": "The file ends early: decoding stopped at 0:12 of a declared 47:30; "
            "0:12 of audio was recovered.",
        }
    ]


def test_an_m4a_whose_index_declares_far_more_than_its_data_warns_or_fails(tmp_path: Path) -> None:
    good = samples.write_audio(
        tmp_path / "good.m4a", _speech(30.0), rate=44100, kind="m4a", options={"movflags": "faststart"}
    )
    cut = samples.truncate_file(good, tmp_path / "upload", keep_fraction=0.3)

    outcome = _ingest(cut, tmp_path / "out")

    assert outcome.files.duration_s < 12.0
    assert [warning.code for warning in outcome.warnings] == ["truncated"]
    assert "of a declared 0:30" in outcome.warnings[0].message


@pytest.mark.parametrize("kind", ["wav", "flac"])
def test_an_intact_file_has_no_warnings(tmp_path: Path, kind: str) -> None:
    source = samples.write_audio(tmp_path / f"good.{kind}", _speech(8.0), rate=44100, kind=kind)

    assert _ingest(source, tmp_path / "out").warnings == []


@pytest.mark.parametrize("kind", ["mp3", "m4a", "flac", "opus"])
def test_a_few_corrupt_frames_mid_stream_are_skipped_with_a_warning(tmp_path: Path, kind: str) -> None:
    rate = 48000 if kind == "opus" else 44100
    good = samples.write_audio(tmp_path / f"good.{kind}", _speech(20.0, rate=rate), rate=rate, kind=kind)
    damaged = samples.corrupt_spans(good, tmp_path / "upload", fractions=(0.45, 0.5, 0.55))
    intact = _ingest(good, tmp_path / "intact").files.duration_s

    outcome = _ingest(damaged, tmp_path / "out")

    # An Ogg page (about 1 s of Opus) is lost whole when its checksum fails.
    assert intact - 4.0 < outcome.files.duration_s <= intact
    codes = [warning.code for warning in outcome.warnings]
    assert codes == ["damaged_audio"], outcome.warnings
    assert re.search(r"damaged stretch.* could not be decoded and (was|were) skipped", outcome.warnings[0].message)
    # The damage starts at 45 % of the file's bytes: between 0:05 and 0:12 of 0:20, as compression varies.
    assert re.search(r" at 0:(0[5-9]|1[0-2])", outcome.warnings[0].message), outcome.warnings[0].message


def test_a_file_that_is_mostly_corrupt_still_fails(tmp_path: Path) -> None:
    good = samples.write_audio(tmp_path / "good.flac", _speech(5.0), rate=44100, kind="flac")

    with pytest.raises(MediaError) as caught:
        _ingest(samples.corrupt_flac(good, tmp_path / "upload"), tmp_path / "out")

    assert caught.value.code == "corrupt_media"


@pytest.mark.parametrize("seconds", [1.0, 2.9])
def test_audio_shorter_than_the_short_term_window_has_no_loudness_range_and_says_why(
    tmp_path: Path, seconds: float
) -> None:
    source = samples.write_audio(tmp_path / "short.wav", _speech(seconds), rate=44100, kind="wav")

    loudness = _ingest(source, tmp_path / "out").files.loudness

    assert loudness.integrated_lufs is not None
    assert loudness.loudness_range_lu is None
    body = loudness.to_json()
    assert body["loudnessRangeLu"] is None
    assert "shorter than the 3 s window" in body["unmeasured"]["loudnessRangeLu"]
    assert "integratedLufs" not in body["unmeasured"]


def test_audio_of_at_least_the_window_has_a_loudness_range(tmp_path: Path) -> None:
    source = samples.write_audio(tmp_path / "long.wav", _speech(10.0), rate=44100, kind="wav")

    loudness = _ingest(source, tmp_path / "out").files.loudness

    assert loudness.loudness_range_lu is not None
    assert math.isfinite(loudness.loudness_range_lu)
    assert loudness.to_json()["unmeasured"] == {}


@pytest.mark.parametrize(("seconds", "shown"), [(0.4, "0:00"), (12.9, "0:12"), (2850.0, "47:30"), (3723.0, "1:02:03")])
def test_positions_read_as_a_player_shows_them(seconds: float, shown: str) -> None:
    assert clock(seconds) == shown
