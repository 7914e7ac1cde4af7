"""Repairs and pause shortening on generated speech with known noise: what each step did, measured against the
clean reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from common.audio.editing import MasterAudio, preview_edits, save_edited_version
from common.audio.enhance import RepairChain, learn_source
from common.audio.program import Program, apply_edits
from common.edits import merge_edits, parse_edit_list
from common.errors import EditListError, JobCancelled
from tests.support.audio_samples import read_audio, write_audio
from tests.support.masters import ingested_master
from tests.support.speech_signals import (
    SpeechLayout,
    hum,
    level_db,
    pink_noise,
    speech_layout,
    tone_level_db,
    white_noise,
)

RATE = 48000


def _master(tmp_path: Path, signal: np.ndarray) -> MasterAudio:
    source = write_audio(tmp_path / "source.wav", signal[:, np.newaxis].astype(np.float32), rate=RATE, kind="wav24")
    return ingested_master(source, tmp_path / "v1")


def _edit(tmp_path: Path, signal: np.ndarray, edits: list[dict]) -> tuple[np.ndarray, float]:
    master = _master(tmp_path, signal)
    parsed = parse_edit_list(edits, master.frames / master.sample_rate)
    progress: list[float] = []
    files = save_edited_version(master, parsed, tmp_path / "v2", on_progress=progress.append, check_cancel=lambda: None)
    decoded, rate = read_audio(files.master_path)
    assert rate == RATE
    assert progress == sorted(progress)
    return decoded[:, 0].astype(np.float64), files.time_saved_s


def _conversation(seed: int = 11, pitch_hz: tuple[float, float] = (110.0, 140.0)) -> SpeechLayout:
    phrases = [(3.0, -20.0)] * 6
    return speech_layout(RATE, phrases, [1.0, 1.2, 0.9, 1.5, 1.1, 1.3, 1.0], seed=seed, pitch_hz=pitch_hz)


@pytest.mark.parametrize("noise", [white_noise, pink_noise])
def test_denoise_raises_the_snr_by_10_db_and_keeps_the_speech_level(tmp_path: Path, noise) -> None:
    layout = _conversation()
    noisy = layout.signal + noise(len(layout.signal), -45.0)
    speech, pauses = layout.speech, layout.pause_mask

    out, _ = _edit(tmp_path, noisy, [{"op": "denoise"}])

    assert len(out) == len(noisy)
    snr_before = level_db(noisy[speech]) - level_db(noisy[pauses])
    snr_after = level_db(out[speech]) - level_db(out[pauses])
    assert snr_after - snr_before >= 10.0, (snr_before, snr_after)
    assert abs(level_db(out[speech]) - level_db(layout.signal[speech])) < 1.0
    # No musical noise or pumping: what is left in a pause is about as steady as the noise was (tones that come and
    # go, or a level that breathes, would spread 50 ms windows' levels by 10 dB and more). With a profile of the
    # pauses alone, the residual spread 0.7 dB (white) and 5.6 dB (pink: its few low bins carry much of its power
    # and the gain follows their swings) more than the noise here, and up to 7.5 dB more in a 166 s talk.
    start, end = layout.pauses[3]
    assert (
        _level_spread_db(out[start + RATE // 4 : end - RATE // 4])
        < _level_spread_db(noisy[start + RATE // 4 : end - RATE // 4]) + 7.0
    )


def _level_spread_db(samples: np.ndarray) -> float:
    windows = samples[: len(samples) // 2400 * 2400].reshape(-1, 2400)
    levels = [level_db(window) for window in windows]
    return max(levels) - min(levels)


@pytest.mark.parametrize(("mains", "pitch"), [(50, (110.0, 140.0)), (60, (150.0, 170.0))])
def test_dehum_finds_the_mains_frequency_and_removes_30_db_of_hum(tmp_path: Path, mains: int, pitch) -> None:
    layout = _conversation(pitch_hz=pitch)
    frames = len(layout.signal)
    noisy = layout.signal + hum(frames, RATE, mains, -30.0) + white_noise(frames, -70.0)

    out, _ = _edit(tmp_path, noisy, [{"op": "dehum"}])

    # Past the notches' first second of settling.
    steady = slice(RATE, frames)
    for harmonic in range(1, 5):
        frequency = mains * harmonic
        before = tone_level_db(noisy[steady], RATE, frequency)
        after = tone_level_db(out[steady], RATE, frequency)
        assert before - after >= 30.0, (frequency, before, after)
    assert abs(level_db(out[layout.speech]) - level_db(layout.signal[layout.speech])) < 1.0


def test_level_brings_speakers_12_db_apart_within_3_lu_without_raising_the_pauses(tmp_path: Path) -> None:
    phrases = [(4.0, -18.0), (4.0, -30.0)] * 3
    layout = speech_layout(RATE, phrases, [1.0] * 7)
    noisy = layout.signal + white_noise(len(layout.signal), -65.0)
    loud = np.isin(layout.phrase, [0, 2, 4])
    quiet = np.isin(layout.phrase, [1, 3, 5])
    assert level_db(noisy[loud]) - level_db(noisy[quiet]) > 11.5

    out, _ = _edit(tmp_path, noisy, [{"op": "level"}])

    assert abs(level_db(out[loud]) - level_db(out[quiet])) <= 3.0
    assert level_db(out[layout.pause_mask]) <= level_db(noisy[layout.pause_mask]) + 1.0


def test_shorten_pauses_leaves_the_length_the_parameters_say(tmp_path: Path) -> None:
    pauses = [0.5, 2.0, 0.8, 3.5, 1.6, 0.5]
    layout = speech_layout(RATE, [(2.0, -20.0)] * 5, pauses)
    noisy = layout.signal + white_noise(len(layout.signal), -70.0)

    out, saved = _edit(tmp_path, noisy, [{"op": "shortenPauses", "minPause": 1.0, "keepPause": 0.4}])

    # The pauses at both ends are leading and trailing silence, left alone; 2.0, 3.5 and 1.6 s become 0.4 s.
    expected_saved = (2.0 - 0.4) + (3.5 - 0.4) + (1.6 - 0.4)
    assert abs(len(out) / RATE - (len(noisy) / RATE - expected_saved)) <= 0.05
    assert abs(saved - expected_saved) <= 0.05
    # Every sound is still there: as much energy outside the pauses.
    assert abs(level_db(out) + 10 * np.log10(len(out)) - level_db(noisy) - 10 * np.log10(len(noisy))) < 0.2


def test_shorten_pauses_keeps_cut_times_of_a_later_edit_on_the_shortened_timeline(tmp_path: Path) -> None:
    layout = speech_layout(RATE, [(2.0, -20.0)] * 3, [0.5, 3.0, 3.0, 0.5])
    edits = [{"op": "shortenPauses", "minPause": 1.0, "keepPause": 0.5}, {"op": "trim", "start": 0.0, "end": 5.0}]

    out, saved = _edit(tmp_path, layout.signal, edits)

    assert len(out) == 5 * RATE
    assert saved == pytest.approx(5.0, abs=0.05)


def test_repairs_keep_the_timeline_exact_for_cuts(tmp_path: Path) -> None:
    layout = _conversation()
    noisy = layout.signal + white_noise(len(layout.signal), -50.0)
    edits = [{"op": "denoise"}, {"op": "cut", "start": 2.0, "end": 3.0}, {"op": "deess"}]

    out, saved = _edit(tmp_path, noisy, edits)

    assert len(out) == len(noisy) - RATE
    assert saved == 0.0
    # Away from the join, the output lines up with the source sample for sample: the denoiser's latency is gone.
    # (A highpass would shift the phase of a voice's fundamental, which this comparison would count against it.)
    segment = slice(5 * RATE, 6 * RATE)
    shifted = slice(6 * RATE, 7 * RATE)
    correlation = np.dot(out[segment], layout.signal[shifted]) / (
        np.linalg.norm(out[segment]) * np.linalg.norm(layout.signal[shifted])
    )
    assert correlation > 0.95


def test_highpass_removes_rumble(tmp_path: Path) -> None:
    layout = _conversation()
    frames = len(layout.signal)
    rumble = np.sqrt(2) * 10 ** (-25 / 20) * np.sin(2 * np.pi * 20.0 * np.arange(frames) / RATE)

    out, _ = _edit(tmp_path, layout.signal + rumble, [{"op": "highpass", "frequency": 80}])

    assert tone_level_db(out[RATE:], RATE, 20.0) <= -25.0 - 30.0


def test_preview_of_repairs_reports_time_saved(tmp_path: Path) -> None:
    layout = speech_layout(RATE, [(2.0, -20.0)] * 2, [0.5, 2.5, 0.5])
    master = _master(tmp_path, layout.signal)
    edits = parse_edit_list([{"op": "denoise"}, {"op": "shortenPauses"}], master.frames / RATE)

    preview = preview_edits(master, edits, tmp_path / "p", on_progress=lambda _: None, check_cancel=lambda: None)

    assert preview.time_saved_s == pytest.approx(2.0, abs=0.05)
    assert preview.duration_s == pytest.approx(master.frames / RATE - 2.0, abs=0.05)


def test_repairs_stop_between_chunks_when_cancelled(tmp_path: Path) -> None:
    layout = _conversation()
    master = _master(tmp_path, layout.signal)
    edits = parse_edit_list([{"op": "denoise"}, {"op": "level"}], master.frames / RATE)
    checks = 0

    def check_cancel() -> None:
        nonlocal checks
        checks += 1
        if checks == 3:
            raise JobCancelled("cancelled")

    with pytest.raises(JobCancelled):
        save_edited_version(master, edits, tmp_path / "v2", on_progress=lambda _: None, check_cancel=check_cancel)
    assert checks == 3


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        ({"op": "highpass", "frequency": 5}, "frequency", "at least 20"),
        ({"op": "dehum", "frequency": 55}, "frequency", "one of 0, 50, 60"),
        ({"op": "denoise", "reductionDb": 90}, "reductionDb", "at most 40"),
        ({"op": "deess", "intensity": -1}, "intensity", "negative"),
        ({"op": "level", "maxGainDb": "x"}, "maxGainDb", "number"),
        ({"op": "shortenPauses", "minPause": 0.1}, "minPause", "at least 0.2"),
        ({"op": "denoise", "strength": 1}, "strength", "not a field"),
    ],
)
def test_repair_fields_are_validated(edit: dict, field: str, message: str) -> None:
    with pytest.raises(EditListError) as raised:
        parse_edit_list([edit], 10.0)
    assert raised.value.field == f"edits[0].{field}"
    assert message in str(raised.value)


def test_repairs_per_list_are_bounded() -> None:
    with pytest.raises(EditListError, match="repair operations"):
        parse_edit_list([{"op": "highpass"}] * 9, 10.0)


def test_a_span_of_a_repaired_program_past_a_long_cut_is_the_audio_the_whole_program_has_there(
    tmp_path: Path,
) -> None:
    layout = _conversation()
    noisy = layout.signal + white_noise(len(layout.signal), -50.0) + hum(len(layout.signal), RATE, 50, -40.0)
    master = _master(tmp_path, noisy)
    edits = merge_edits(
        parse_edit_list(
            [
                {"op": "highpass"},
                {"op": "dehum"},
                {"op": "denoise"},
                {"op": "level"},
                {"op": "cut", "start": 2, "end": 16},
            ],
            master.frames / RATE,
        )
    )
    repairs = RepairChain.of([edit for _, edit in edits], RATE, 1)
    assert repairs is not None
    learn_source(repairs, master.path, check_cancel=lambda: None, progress=lambda _: None, frames=master.frames)
    program = Program(
        master.path, rate=RATE, channels=1, source_frames=master.frames, check_cancel=lambda: None, repairs=repairs
    )
    apply_edits(program, edits)
    whole: list[np.ndarray] = []
    program.play(whole.append)
    played = np.concatenate(whole)

    # The span starts more than SEEK_AHEAD_S into the source, where a reader without filters seeks: the filters'
    # state (the level plan's position, the denoiser's, the notches') must be what reading through gives.
    start, end = 3 * RATE, 5 * RATE
    span: list[np.ndarray] = []
    program.play(span.append, (start, end))

    np.testing.assert_array_equal(np.concatenate(span), played[start:end])
