"""The notes a save gives about what its denoise and level did (``repairNotes``), on generated recordings whose noise
and speech are known: the figures they name are those of the recording, and a note that says a repair left the
recording unchanged is true of the saved audio sample for sample."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from common.audio.editing import MasterAudio, preview_edits, save_edited_version
from common.audio.repair_notes import RepairNote
from common.edits import PREVIEW_CONTEXT, parse_edit_list
from tests.support.audio_samples import read_audio, write_audio
from tests.support.masters import ingested_master
from tests.support.speech_signals import level_db, speech_layout, white_noise

RATE = 48000


def _master(tmp_path: Path, signal: np.ndarray) -> MasterAudio:
    source = write_audio(tmp_path / "source.wav", signal[:, np.newaxis].astype(np.float32), rate=RATE, kind="wav24")
    return ingested_master(source, tmp_path / "v1")


def _save(tmp_path: Path, signal: np.ndarray, edits: list[dict]) -> tuple[np.ndarray, np.ndarray, list[RepairNote]]:
    """The master before, the saved version's samples and its notes."""
    master = _master(tmp_path, signal)
    parsed = parse_edit_list(edits, master.frames / master.sample_rate)
    files = save_edited_version(master, parsed, tmp_path / "v2", on_progress=lambda _: None, check_cancel=lambda: None)
    before, _ = read_audio(master.path)
    after, _ = read_audio(files.master_path)
    return before, after, list(files.repair_notes)


def _figure(pattern: str, message: str) -> float:
    found = re.search(pattern, message)
    assert found is not None, message
    return float(found.group(1))


def _tone(seconds: float, level: float) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return np.sqrt(2.0) * 10.0 ** (level / 20.0) * np.sin(2 * np.pi * 440.0 * t)


def test_denoise_of_talk_names_the_noise_floor_of_its_pauses(tmp_path: Path) -> None:
    # 15 s of pauses: more than the quietest passages the profile is made of, so it holds no speech.
    layout = speech_layout(RATE, [(2.0, -20.0)] * 4, [3.0] * 5)
    noisy = layout.signal + white_noise(len(layout.signal), -60.0)

    _, _, notes = _save(tmp_path, noisy, [{"op": "highpass"}, {"op": "denoise", "reductionDb": 12}])

    assert [(note.op, note.code) for note in notes] == [("denoise", "noise_reduced")]
    assert abs(_figure(r"\((-?\d+) dBFS RMS\)", notes[0].message) + 60.0) <= 1.0
    assert _figure(r"quietest (\d+\.\d) s", notes[0].message) <= 15.0
    assert "lowered it by up to 12 dB" in notes[0].message


def test_denoise_of_a_short_talk_learns_only_its_pauses_and_keeps_the_speech_level(tmp_path: Path) -> None:
    # 2 s of pauses in 9.5 s: far less than the quietest passages a profile may take, so the quietest speech is
    # among them, and must be left out.
    layout = speech_layout(RATE, [(2.5, -20.0)] * 3, [0.3, 0.7, 0.7, 0.3])
    noisy = layout.signal + white_noise(len(layout.signal), -60.0)
    master = _master(tmp_path, noisy)
    edits = parse_edit_list([{"op": "denoise"}], master.frames / master.sample_rate)

    saved = save_edited_version(master, edits, tmp_path / "v2", on_progress=lambda _: None, check_cancel=lambda: None)
    preview = preview_edits(
        master, edits, tmp_path / "preview", mode=PREVIEW_CONTEXT, on_progress=lambda _: None, check_cancel=lambda: None
    )

    # The context preview learns through its own (windowed) path and names the same profile.
    assert preview.repair_notes == saved.repair_notes
    notes = saved.repair_notes
    assert [(note.op, note.code) for note in notes] == [("denoise", "noise_reduced")]
    assert abs(_figure(r"\((-?\d+) dBFS RMS\)", notes[0].message) + 60.0) <= 1.0
    assert _figure(r"quietest (\d+\.\d) s", notes[0].message) <= 2.0
    before, after = read_audio(master.path)[0][:, 0], read_audio(saved.master_path)[0][:, 0]
    speech, pauses = layout.speech, layout.pause_mask
    assert level_db(after[speech]) - level_db(before[speech]) > -1.0
    assert level_db(after[pauses]) - level_db(before[pauses]) < -10.0


def test_denoise_of_steady_noise_without_a_quiet_passage_learns_that_noise(tmp_path: Path) -> None:
    # There is no threshold for "quiet": on noise alone every block is the noise floor, whatever its level.
    _, after, notes = _save(tmp_path, white_noise(15 * RATE, -40.0), [{"op": "denoise"}])

    assert [(note.op, note.code) for note in notes] == [("denoise", "noise_reduced")]
    assert abs(_figure(r"\((-?\d+) dBFS RMS\)", notes[0].message) + 40.0) <= 1.0
    assert _figure(r"quietest (\d+\.\d) s", notes[0].message) > 10.0
    assert level_db(after[RATE:-RATE]) < -40.0 - 10.0


def test_denoise_of_noise_after_digital_silence_learns_the_noise_not_the_edge(tmp_path: Path) -> None:
    # The noise starts near the end of the first block, which is then the quietest block that is not silence, 9 dB
    # under the noise: the floor is the quietest block that is steady.
    padded = np.concatenate([np.zeros(round(0.3 * RATE)), white_noise(10 * RATE, -40.0)])

    _, after, notes = _save(tmp_path, padded, [{"op": "denoise"}])

    assert [(note.op, note.code) for note in notes] == [("denoise", "noise_reduced")]
    assert abs(_figure(r"\((-?\d+) dBFS RMS\)", notes[0].message) + 40.0) <= 1.0
    assert level_db(after[RATE:-RATE]) < -40.0 - 10.0


@pytest.mark.parametrize(
    "signal",
    [np.zeros(5 * RATE), white_noise(RATE // 4, -40.0)],
    ids=["digital silence", "a quarter of a second"],
)
def test_denoise_with_nothing_to_learn_from_says_it_left_the_recording_unchanged(
    tmp_path: Path, signal: np.ndarray
) -> None:
    before, after, notes = _save(tmp_path, signal, [{"op": "denoise"}])

    assert [(note.op, note.code) for note in notes] == [("denoise", "no_noise_profile")]
    assert "left the recording unchanged" in notes[0].message
    assert np.array_equal(after, before)


@pytest.mark.parametrize(
    "signal",
    [white_noise(10 * RATE, -40.0), _tone(10.0, -20.0), np.zeros(5 * RATE)],
    ids=["steady noise", "a tone", "digital silence"],
)
def test_level_without_speech_says_it_left_the_recording_unchanged(tmp_path: Path, signal: np.ndarray) -> None:
    before, after, notes = _save(tmp_path, signal, [{"op": "level"}])

    assert [(note.op, note.code) for note in notes] == [("level", "no_speech_found")]
    assert "left the recording unchanged" in notes[0].message
    assert np.array_equal(after, before)


def test_level_of_two_speakers_names_the_level_and_the_gains_it_applied(tmp_path: Path) -> None:
    layout = speech_layout(RATE, [(4.0, -18.0), (4.0, -30.0)] * 3, [1.0] * 7)
    noisy = layout.signal + white_noise(len(layout.signal), -65.0)
    loud = np.isin(layout.phrase, [0, 2, 4])
    quiet = np.isin(layout.phrase, [1, 3, 5])
    edits = [{"op": "level", "maxGainDb": 10}, {"op": "deess"}, {"op": "denoise"}]

    before, after, notes = _save(tmp_path, noisy, edits)

    # One note per denoise and level, in the list's order (deess decides nothing from the recording).
    assert [(note.op, note.code) for note in notes] == [("level", "speech_leveled"), ("denoise", "noise_reduced")]
    message = notes[0].message
    target = _figure(r"mean level, (-?\d+) dBFS RMS", message)
    raised = _figure(r"raised by up to (\d+\.\d) dB", message)
    lowered = _figure(r"lowered by up to (\d+\.\d) dB", message)
    assert -30.0 < target < -18.0
    assert "(at most 10 dB)" in message
    # What the note names is what the samples show: the quiet speaker raised, the loud one lowered, within it.
    quiet_change = level_db(after[quiet, 0]) - level_db(before[quiet, 0])
    loud_change = level_db(after[loud, 0]) - level_db(before[loud, 0])
    assert 2.0 < quiet_change <= raised + 0.5
    assert -lowered - 0.5 <= loud_change < -2.0


def test_a_context_preview_names_what_it_learned_from_its_sample_as_the_save_does(tmp_path: Path) -> None:
    # Longer than a minute, so the preview plays excerpts and its repairs learn from a sample of the recording.
    layout = speech_layout(RATE, [(2.0, -20.0), (2.0, -30.0)] * 7, [3.0] * 15)
    master = _master(tmp_path, layout.signal + white_noise(len(layout.signal), -60.0))
    edits = parse_edit_list([{"op": "denoise"}, {"op": "level"}], master.frames / master.sample_rate)

    preview = preview_edits(
        master, edits, tmp_path / "preview", mode=PREVIEW_CONTEXT, on_progress=lambda _: None, check_cancel=lambda: None
    )
    saved = save_edited_version(master, edits, tmp_path / "v2", on_progress=lambda _: None, check_cancel=lambda: None)

    assert preview.mode == PREVIEW_CONTEXT
    codes = [("denoise", "noise_reduced"), ("level", "speech_leveled")]
    assert [(note.op, note.code) for note in preview.repair_notes] == codes
    assert [(note.op, note.code) for note in saved.repair_notes] == codes
    for notes in (preview.repair_notes, saved.repair_notes):
        assert abs(_figure(r"\((-?\d+) dBFS RMS\)", notes[0].message) + 60.0) <= 1.0
        assert _figure(r"quietest (\d+\.\d) s", notes[0].message) > 5.0
        assert -30.0 < _figure(r"mean level, (-?\d+) dBFS RMS", notes[1].message) < -20.0
