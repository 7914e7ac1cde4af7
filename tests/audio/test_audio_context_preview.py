"""Context previews: excerpts around each edit point, read by seeking in the master, on a one-hour recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from common.audio.editing import MasterAudio, context_spans, preview_edits
from common.audio.encode import AudioWriter
from common.audio.loudness import Loudness
from common.audio.program import Program, apply_edits
from common.edits import PREVIEW_CONTEXT, PREVIEW_CONTEXT_S, PREVIEW_GAP_S, merge_edits, parse_edit_list
from tests.support.audio_samples import read_audio

RATE = 16000
HOUR_S = 3600


def _write_master(path: Path, seconds: int) -> MasterAudio:
    """A mono 24-bit FLAC master whose level steps every second (so any position can be told from its neighbours)."""
    chunk_s = 60
    with AudioWriter(path, "flac24", rate=RATE, channels=1) as writer:
        for minute in range(0, seconds, chunk_s):
            t = np.arange(chunk_s * RATE, dtype=np.float64) / RATE + minute
            level = 0.1 + 0.4 * ((np.floor(t) % 7) / 7)
            writer.consume((level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)[:, np.newaxis])
    stored = Loudness(-20.0, 5.0, -6.0, -22.0, -6.5)
    return MasterAudio(path, RATE, 1, seconds * RATE, stored)


@pytest.fixture(scope="module")
def hour_master(tmp_path_factory: pytest.TempPathFactory) -> MasterAudio:
    return _write_master(tmp_path_factory.mktemp("hour") / "master.flac", HOUR_S)


def _program(master: MasterAudio, edits: list[dict]) -> Program:
    program = Program(master.path, rate=RATE, channels=1, source_frames=master.frames, check_cancel=lambda: None)
    apply_edits(program, merge_edits(parse_edit_list(edits, master.frames / RATE)))
    return program


def _played(program: Program, span: tuple[int, int] | None = None) -> np.ndarray:
    chunks: list[np.ndarray] = []
    program.play(chunks.append, span)
    return np.concatenate(chunks)


def test_a_span_read_by_seeking_is_the_same_audio_as_the_whole_program_there(tmp_path: Path) -> None:
    master = _write_master(tmp_path / "master.flac", 150)
    # The 40 s cut is longer than a reader decodes through: the span across it seeks.
    program = _program(
        master,
        [
            {"op": "cut", "start": 20, "end": 60},
            {"op": "gain", "db": -6, "start": 30, "end": 40},
            {"op": "fadeIn", "duration": 2},
            {"op": "cut", "start": 70.5, "end": 71},
        ],
    )
    whole = _played(program)
    assert len(whole) == program.frames == (150 - 40.5) * RATE
    for start, end in [(0, 1000), (19 * RATE, 21 * RATE), (25 * RATE, 75 * RATE), (70 * RATE + 123, 71 * RATE)]:
        np.testing.assert_array_equal(_played(program, (start, end)), whole[start:end])
    np.testing.assert_array_equal(_played(program, (program.frames - 999, program.frames)), whole[-999:])


def test_context_spans_surround_each_join_gain_edge_and_fade(hour_master: MasterAudio) -> None:
    program = _program(
        hour_master,
        [
            {"op": "cut", "start": 600, "end": 1200},
            {"op": "gain", "db": -12, "start": 1800, "end": 1810},
            {"op": "fadeOut", "duration": 2},
        ],
    )
    context = round(PREVIEW_CONTEXT_S * RATE)
    end = program.frames
    assert context_spans(program) == [
        (600 * RATE - context, 600 * RATE + context),
        # The gain's two edges are 10 s apart: 3 s around each stays two excerpts.
        (1800 * RATE - context, 1800 * RATE + context),
        (1810 * RATE - context, 1810 * RATE + context),
        (end - 2 * RATE - context, end),
    ]


def test_a_context_preview_of_an_hour_plays_only_the_excerpts(hour_master: MasterAudio, tmp_path: Path) -> None:
    edits = parse_edit_list(
        [
            {"op": "cut", "start": 600, "end": 1200},
            {"op": "trim", "start": 1.0, "end": 2900},
            {"op": "normalize", "targetLufs": -16},
        ],
        HOUR_S,
    )
    progress: list[float] = []

    preview = preview_edits(
        hour_master,
        edits,
        tmp_path / "preview",
        mode=PREVIEW_CONTEXT,
        on_progress=progress.append,
        check_cancel=lambda: None,
    )

    timeline = (2900 - 1) * RATE
    context = round(PREVIEW_CONTEXT_S * RATE)
    join = 599 * RATE
    assert preview.mode == "context"
    assert preview.timeline_frames == timeline
    assert [(s.start, s.end) for s in preview.segments] == [
        (0, context),
        (join - context, join + context),
        (timeline - context, timeline),
    ]
    gap = round(PREVIEW_GAP_S * RATE)
    assert [s.at for s in preview.segments] == [0, context + gap, 3 * context + 2 * gap]
    assert preview.frames == 4 * context + 2 * gap
    decoded, rate = read_audio(preview.path)
    assert rate == RATE
    assert len(decoded) == preview.frames
    # The gaps are silent and the excerpts are not.
    assert np.max(np.abs(decoded[context + 200 : context + gap - 200])) < 0.01
    assert np.sqrt(np.mean(decoded[: context - 200] ** 2)) > 0.05
    # The normalize is estimated from the stored loudness (-20 LUFS): +4 dB, under the -1 dBTP ceiling.
    assert preview.loudness.integrated_lufs is not None
    assert progress == sorted(progress)
    assert preview.segments_json()[1] == {
        "start": (join - context) / RATE,
        "end": (join + context) / RATE,
        "previewStart": (context + gap) / RATE,
        # The excerpt's "before": the source around the cut, the 600 s cut away included.
        "sourceStart": 600 - PREVIEW_CONTEXT_S,
        "sourceEnd": 1200 + PREVIEW_CONTEXT_S,
    }


def test_a_context_preview_with_only_level_changes_plays_the_opening(hour_master: MasterAudio, tmp_path: Path) -> None:
    edits = parse_edit_list([{"op": "gain", "db": -3}], HOUR_S)
    preview = preview_edits(
        hour_master, edits, tmp_path, mode=PREVIEW_CONTEXT, on_progress=lambda _: None, check_cancel=lambda: None
    )
    assert [(s.start, s.end, s.at) for s in preview.segments] == [(0, 30 * RATE, 0)]
    assert preview.frames == 30 * RATE


def test_a_short_recording_is_previewed_whole_even_in_context_mode(tmp_path: Path) -> None:
    master = _write_master(tmp_path / "master.flac", 50)
    edits = parse_edit_list([{"op": "cut", "start": 10, "end": 20}], 50)
    preview = preview_edits(
        master, edits, tmp_path, mode=PREVIEW_CONTEXT, on_progress=lambda _: None, check_cancel=lambda: None
    )
    assert preview.mode == "whole"
    assert [(s.start, s.end, s.at) for s in preview.segments] == [(0, 40 * RATE, 0)]


def _write_master_with_pauses(path: Path, seconds: int, pauses: list[tuple[int, int]]) -> MasterAudio:
    """``_write_master``'s audio with digital silence over each (start, end) second span."""
    master = _write_master(path.with_name("tone.flac"), seconds)
    samples = read_audio(master.path)[0][: master.frames, 0].astype(np.float32)
    for start, end in pauses:
        samples[start * RATE : end * RATE] = 0.0
    with AudioWriter(path, "flac24", rate=RATE, channels=1) as writer:
        writer.consume(samples[:, np.newaxis])
    return MasterAudio(path, RATE, 1, len(samples), master.loudness)


def test_a_context_preview_of_shortened_pauses_plays_each_join_and_reports_the_time_saved(tmp_path: Path) -> None:
    master = _write_master_with_pauses(tmp_path / "master.flac", 150, [(40, 44), (100, 103)])
    edits = parse_edit_list([{"op": "shortenPauses", "minPause": 1.0, "keepPause": 0.5}], 150)

    preview = preview_edits(
        master, edits, tmp_path / "p", mode=PREVIEW_CONTEXT, on_progress=lambda _: None, check_cancel=lambda: None
    )

    assert preview.mode == "context"
    saved = 3.5 + 2.5
    assert preview.time_saved_s == pytest.approx(saved, abs=0.05)
    assert preview.timeline_frames / RATE == pytest.approx(150 - saved, abs=0.05)
    # One excerpt around each shortened pause, centred on its join (in the shortened timeline's time).
    joins = [(s.start + s.end) / 2 / RATE for s in preview.segments]
    assert joins == pytest.approx([40.25, 100.25 - 3.5], abs=0.05)


def test_a_context_preview_with_a_repair_plays_excerpts(tmp_path: Path) -> None:
    master = _write_master(tmp_path / "master.flac", 150)
    edits = parse_edit_list([{"op": "level"}, {"op": "cut", "start": 20, "end": 60}], 150)
    progress: list[float] = []
    stages: list[str] = []

    preview = preview_edits(
        master,
        edits,
        tmp_path / "p",
        mode=PREVIEW_CONTEXT,
        on_progress=progress.append,
        check_cancel=lambda: None,
        on_stage=stages.append,
    )

    assert preview.mode == "context"
    context = round(PREVIEW_CONTEXT_S * RATE)
    assert [(s.start, s.end, s.at) for s in preview.segments] == [(20 * RATE - context, 20 * RATE + context, 0)]
    assert preview.frames == 2 * context
    assert preview.timeline_frames == 110 * RATE
    assert stages == ["editing"]
    assert progress == sorted(progress)
