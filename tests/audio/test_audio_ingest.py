"""Ingest: every format we promise to read, and every refusal code produced by a real bad file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from common.audio.ingest import IngestOutcome, ingest_file
from common.errors import MediaError
from tests.support import audio_samples as samples
from tests.support.audio_samples import read_audio


def _ingest(path: Path, out: Path, max_duration_s: float = 3600.0) -> IngestOutcome:
    progress: list[float] = []
    outcome = ingest_file(
        path, out, max_duration_s=max_duration_s, on_progress=progress.append, check_cancel=lambda: None
    )
    assert progress
    assert progress == sorted(progress)
    return outcome


def _refusal(path: Path, out: Path, max_duration_s: float = 3600.0) -> MediaError:
    with pytest.raises(MediaError) as caught:
        ingest_file(path, out, max_duration_s=max_duration_s, on_progress=lambda _: None, check_cancel=lambda: None)
    assert caught.value.message
    return caught.value


@pytest.mark.parametrize(
    ("kind", "rate", "channels", "master_rate", "exact"),
    [
        ("wav", 44100, 2, 44100, True),
        ("wav24", 96000, 1, 96000, True),
        ("wavf32", 22050, 2, 22050, True),
        ("flac", 48000, 2, 48000, True),
        ("alac", 44100, 2, 44100, True),
        ("mp3", 44100, 1, 44100, True),
        ("m4a", 48000, 2, 48000, False),
        ("opus", 48000, 2, 48000, True),
        ("wav", 8000, 1, 48000, False),
        ("wav", 192000, 2, 48000, False),
    ],
)
def test_accepts_every_format_and_keeps_a_sensible_rate(
    tmp_path: Path, kind: str, rate: int, channels: int, master_rate: int, exact: bool
) -> None:
    signal = samples.sine(1.5, rate=rate, channels=channels, frequency=440.0, peak_db=-6.0)
    # The name says nothing: content decides.
    source = samples.write_audio(tmp_path / "upload", signal, rate=rate, kind=kind)

    outcome = _ingest(source, tmp_path / "out")

    files = outcome.files
    assert (files.sample_rate, files.channels) == (master_rate, channels)
    decoded, decoded_rate = read_audio(files.master_path)
    assert decoded_rate == master_rate
    assert decoded.shape == (files.frames, channels)
    expected = 1.5 * master_rate
    assert abs(files.frames - expected) <= (0 if exact else 1024 * master_rate / rate + 64)


@pytest.mark.parametrize("with_layout", [True, False])
def test_more_than_two_channels_are_downmixed_to_stereo(tmp_path: Path, with_layout: bool) -> None:
    signal = samples.sine(1.0, rate=48000, channels=6, peak_db=-6.0)
    if with_layout:
        source = samples.write_audio(tmp_path / "surround", signal, rate=48000, kind="flac")
    else:
        # A plain PCM WAV names no speaker positions for its six channels.
        source = samples.write_wav_pcm16(tmp_path / "surround", signal, rate=48000)

    outcome = _ingest(source, tmp_path / "out")

    assert outcome.source.channels == 6
    assert outcome.files.channels == 2
    assert outcome.files.frames == 48000


def test_reads_the_sound_track_of_a_video(tmp_path: Path) -> None:
    path = tmp_path / "clip"
    samples.write_video_with_audio(path, seconds=2.0)

    outcome = _ingest(path, tmp_path / "out")

    assert outcome.source.codec == "aac"
    assert outcome.files.duration_s == pytest.approx(2.0, abs=0.05)


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (samples.write_empty, "empty_media"),
        (samples.write_random_bytes, "unsupported_media"),
        (samples.write_png, "unsupported_media"),
        (samples.write_silent_video, "no_audio_stream"),
    ],
)
def test_refuses_files_that_are_not_audio(tmp_path: Path, make, code: str) -> None:
    error = _refusal(make(tmp_path / "upload"), tmp_path / "out")

    assert error.code == code


def test_refuses_text_named_like_an_mp3(tmp_path: Path) -> None:
    error = _refusal(samples.write_text(tmp_path / "song.mp3"), tmp_path / "out")

    assert error.code == "unsupported_media"


def test_refuses_a_wav_header_with_no_samples(tmp_path: Path) -> None:
    path = samples.write_wav_pcm16(tmp_path / "upload", np.zeros((0, 2), dtype=np.float32), rate=44100)

    assert _refusal(path, tmp_path / "out").code == "empty_media"


def test_refuses_audio_that_does_not_decode(tmp_path: Path) -> None:
    signal = np.concatenate(list(samples.speech_like(3.0, rate=44100, channels=2)))
    good = samples.write_audio(tmp_path / "good", signal, rate=44100, kind="flac")

    error = _refusal(samples.corrupt_flac(good, tmp_path / "upload"), tmp_path / "out")

    assert error.code == "corrupt_media"


def test_refuses_an_mp3_cut_before_its_first_audio_frame(tmp_path: Path) -> None:
    good = samples.write_audio(tmp_path / "good", samples.sine(3.0, rate=44100), rate=44100, kind="mp3")
    assert good.read_bytes().startswith(b"ID3")
    cut = samples.truncate_file(good, tmp_path / "upload", keep_fraction=300 / good.stat().st_size)

    assert _refusal(cut, tmp_path / "out").code == "corrupt_media"


def test_keeps_what_decodes_of_a_truncated_mp3(tmp_path: Path) -> None:
    good = samples.write_audio(
        tmp_path / "good", samples.sine(10.0, rate=44100, channels=1), rate=44100, kind="mp3", bitrate_kbps=64
    )
    truncated = samples.truncate_file(good, tmp_path / "upload", keep_fraction=0.6)

    outcome = _ingest(truncated, tmp_path / "out")

    assert outcome.files.duration_s == pytest.approx(6.0, abs=0.3)


def test_counts_samples_instead_of_trusting_a_wav_header(tmp_path: Path) -> None:
    signal = samples.sine(2.0, rate=8000, channels=1)
    # The header claims ten hours of data; two seconds follow.
    liar = samples.write_wav_pcm16(tmp_path / "upload", signal, rate=8000, claimed_data_bytes=8000 * 2 * 36000)

    outcome = _ingest(liar, tmp_path / "out", max_duration_s=3.0)

    assert outcome.files.frames == 2 * 48000


def test_too_long_is_decided_by_decoding(tmp_path: Path) -> None:
    # A WAV header claims no length but a data size; the limit is applied to the samples that decode.
    signal = samples.sine(5.0, rate=8000, channels=1)
    source = samples.write_wav_pcm16(tmp_path / "upload", signal, rate=8000)

    assert _refusal(source, tmp_path / "out", max_duration_s=3.0).code == "too_long"
    assert _ingest(source, tmp_path / "out2", max_duration_s=5.0).files.frames == 5 * 48000


def test_too_long_stops_decoding_early(tmp_path: Path) -> None:
    signal = np.concatenate(list(samples.speech_like(60.0, rate=16000)))
    source = samples.write_audio(tmp_path / "upload", signal, rate=16000, kind="flac")
    fractions: list[float] = []

    with pytest.raises(MediaError) as caught:
        ingest_file(
            source, tmp_path / "out", max_duration_s=5.0, on_progress=fractions.append, check_cancel=lambda: None
        )

    assert caught.value.code == "too_long"
    assert fractions[-1] < 0.5
    assert not math.isnan(fractions[-1])
