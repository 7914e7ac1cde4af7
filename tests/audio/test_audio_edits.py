"""Edits: sample-exact lengths and positions, clickless cuts, smooth fades, gains, normalize, trimSilence."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from common.audio.editing import MasterAudio, preview_edits, save_edited_version
from common.edits import parse_edit_list
from common.errors import EditListError, JobCancelled
from tests.audio.bs1770 import integrated_loudness, true_peak_db
from tests.support.audio_samples import read_audio, sine, speech_like, write_audio
from tests.support.masters import ingested_master

RATE = 48000


def _master(tmp_path: Path, signal: np.ndarray, rate: int = RATE) -> MasterAudio:
    source = write_audio(tmp_path / "source.wav", signal, rate=rate, kind="wav24")
    return ingested_master(source, tmp_path / "v1")


def _save(tmp_path: Path, master: MasterAudio, edits: list[dict]) -> np.ndarray:
    parsed = parse_edit_list(edits, master.frames / master.sample_rate)
    progress: list[float] = []
    files = save_edited_version(master, parsed, tmp_path / "v2", on_progress=progress.append, check_cancel=lambda: None)
    decoded, rate = read_audio(files.master_path)
    assert rate == master.sample_rate
    assert len(decoded) == files.frames
    assert progress == sorted(progress)
    return decoded


def _speech(seconds: float, peak_db: float = -3.0, channels: int = 2) -> np.ndarray:
    return np.concatenate(list(speech_like(seconds, rate=RATE, channels=channels, peak_db=peak_db)))


def test_trims_and_cuts_are_exact_to_the_sample(tmp_path: Path) -> None:
    source = _speech(10.0)
    master = _master(tmp_path, source)
    edits = [
        {"op": "trim", "start": 1.0, "end": 9.5},
        {"op": "cut", "start": 2.0, "end": 3.25},
        {"op": "cut", "start": 0.5, "end": 0.6},
    ]

    edited = _save(tmp_path, master, edits)

    assert len(edited) == (456000 - 48000) - 60000 - 4800
    # Before the first join, the output is the source from the trim point on (24-bit masters on both sides).
    np.testing.assert_allclose(edited[:23000], source[48000 : 48000 + 23000], atol=2e-6)
    # Output 0.5 s .. 1.9 s is source 1.6 s .. 3.0 s; from 1.9 s on, source 4.25 s .. 9.5 s (away from the joins).
    np.testing.assert_allclose(edited[29000:90000], source[81800:142800], atol=2e-6)
    np.testing.assert_allclose(edited[100000:343200], source[212800:456000], atol=2e-6)


def test_a_cut_is_joined_without_a_click(tmp_path: Path) -> None:
    amplitude, frequency = 0.5, 440.0
    master = _master(tmp_path, sine(4.0, rate=RATE, channels=1, frequency=frequency, peak_db=-6.0))
    # From a crest to a trough: a plain splice would jump by twice the amplitude.
    start = 1.0 + 1 / (4 * frequency)
    end = start + 1 / (2 * frequency) + 5 / frequency

    edited = _save(tmp_path, master, [{"op": "cut", "start": start, "end": end}])

    join = round(start * RATE)
    plain = np.concatenate([master_samples(master)[:join], master_samples(master)[round(end * RATE) :]])
    steepest_sine_step = amplitude * 2 * np.pi * frequency / RATE
    assert np.max(np.abs(np.diff(plain[:, 0]))) > 10 * steepest_sine_step
    assert np.max(np.abs(np.diff(edited[:, 0]))) < 1.2 * steepest_sine_step
    assert len(edited) == len(plain)


def master_samples(master: MasterAudio) -> np.ndarray:
    return read_audio(master.path)[0]


def test_fades_start_and_end_in_silence_and_are_smooth(tmp_path: Path) -> None:
    master = _master(tmp_path, sine(3.0, rate=RATE, channels=2, frequency=200.0, peak_db=-6.0))

    edited = _save(tmp_path, master, [{"op": "fadeIn", "duration": 1.0}, {"op": "fadeOut", "duration": 0.5}])

    assert edited[0].tolist() == [0.0, 0.0]
    assert edited[-1].tolist() == [0.0, 0.0]
    envelope = np.abs(edited[:, 0]).reshape(-1, 240).max(axis=1)  # 5 ms windows
    rising = envelope[: RATE // 240]
    falling = envelope[-(RATE // 2) // 240 :]
    assert np.all(np.diff(rising) >= -1e-4)
    assert np.all(np.diff(falling) <= 1e-4)
    assert np.max(np.abs(edited[RATE + 4800 : 2 * RATE])) == pytest.approx(0.5, abs=0.01)


def test_gain_applies_to_its_span_only(tmp_path: Path) -> None:
    source = sine(5.0, rate=RATE, channels=1, frequency=300.0, peak_db=-20.0)
    master = _master(tmp_path, source)

    edited = _save(tmp_path, master, [{"op": "gain", "db": 6.0, "start": 2.0, "end": 4.0}])

    def rms(samples: np.ndarray) -> float:
        return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))

    inside = slice(round(2.2 * RATE), round(3.8 * RATE))
    outside = slice(round(0.5 * RATE), round(1.8 * RATE))
    assert rms(edited[inside]) / rms(source[inside]) == pytest.approx(10 ** (6 / 20), rel=1e-3)
    assert rms(edited[outside]) / rms(source[outside]) == pytest.approx(1.0, rel=1e-3)


@pytest.mark.parametrize(
    ("peak_db", "target_lufs", "ceiling_db"),
    [
        (-20.0, -16.0, -1.0),  # plain gain
        (-3.0, -13.0, -2.0),  # needs the limiter: the gain alone would put peaks over 0 dBFS
    ],
)
def test_normalize_reaches_its_target_under_the_ceiling(
    tmp_path: Path, peak_db: float, target_lufs: float, ceiling_db: float
) -> None:
    master = _master(tmp_path, _speech(12.0, peak_db=peak_db))

    edited = _save(tmp_path, master, [{"op": "normalize", "targetLufs": target_lufs, "truePeakDb": ceiling_db}])

    assert integrated_loudness(edited, RATE) == pytest.approx(target_lufs, abs=0.5)
    assert true_peak_db(edited) <= ceiling_db + 0.05


def test_trim_silence_removes_leading_and_trailing_silence(tmp_path: Path) -> None:
    silence = np.zeros((round(1.5 * RATE), 1), dtype=np.float32)
    tone = sine(3.0, rate=RATE, channels=1, frequency=500.0, peak_db=-20.0)
    master = _master(tmp_path, np.concatenate([silence, tone, silence[: 2 * RATE // 2]]))

    edited = _save(tmp_path, master, [{"op": "trimSilence", "thresholdDb": -50, "minSilence": 0.5}])

    assert abs(len(edited) - 3 * RATE) <= 2 * 256


def test_edits_apply_in_order_on_the_timeline_left_by_earlier_edits(tmp_path: Path) -> None:
    master = _master(tmp_path, sine(6.0, rate=RATE, channels=1, frequency=300.0, peak_db=-20.0))

    # After trimming to 2..6 s, "gain 0..1 s" means source 2..3 s.
    edited = _save(
        tmp_path, master, [{"op": "trim", "start": 2.0, "end": 6.0}, {"op": "gain", "db": -20.0, "end": 1.0}]
    )

    assert len(edited) == 4 * RATE
    assert np.max(np.abs(edited[: RATE - 1000])) == pytest.approx(0.01, rel=0.02)
    assert np.max(np.abs(edited[RATE + 1000 :])) == pytest.approx(0.1, rel=0.02)


def test_silent_audio_cannot_be_trimmed_to_nothing(tmp_path: Path) -> None:
    master = _master(tmp_path, np.zeros((RATE * 2, 1), dtype=np.float32))
    edits = parse_edit_list([{"op": "trimSilence"}], 2.0)

    with pytest.raises(EditListError) as caught:
        save_edited_version(master, edits, tmp_path / "v2", on_progress=lambda _: None, check_cancel=lambda: None)

    assert caught.value.field == "edits[0]"


def test_preview_is_a_small_mp3_of_the_edited_audio(tmp_path: Path) -> None:
    master = _master(tmp_path, _speech(8.0))
    edits = parse_edit_list([{"op": "cut", "start": 1.0, "end": 3.0}, {"op": "fadeOut", "duration": 1.0}], 8.0)

    preview = preview_edits(master, edits, tmp_path / "preview", on_progress=lambda _: None, check_cancel=lambda: None)

    decoded, rate = read_audio(preview.path)
    assert preview.path.read_bytes()[:3] == b"ID3"
    assert rate == RATE
    assert abs(len(decoded) - 6 * RATE) <= 1152
    # 64 kbit/s for six seconds, plus headers.
    assert preview.path.stat().st_size < 64_000 / 8 * 6 + 4096
    assert preview.loudness.integrated_lufs is not None


def test_cancellation_stops_an_analysis_pass_and_its_meter_thread(tmp_path: Path) -> None:
    master = _master(tmp_path, _speech(6.0))
    edits = parse_edit_list([{"op": "normalize", "targetLufs": -16}], 6.0)
    checks = 0

    def cancel_on_second_check() -> None:
        nonlocal checks
        checks += 1
        if checks == 2:
            raise JobCancelled("cancelled")

    threads_before = threading.active_count()
    with pytest.raises(JobCancelled):
        save_edited_version(
            master, edits, tmp_path / "v2", on_progress=lambda _: None, check_cancel=cancel_on_second_check
        )

    assert checks == 2
    assert threading.active_count() == threads_before
