"""Context previews of edit lists with repairs, on generated noisy speech: what the repairs learn comes from a
bounded sample of the source, each excerpt's filters start with a pre-roll, and the excerpts sound as the same spans
of the whole preview do. trimSilence in a context preview reads only the ends of the recording."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from common.audio.editing import (
    REPAIR_SAMPLE_WINDOW_S,
    REPAIR_SAMPLE_WINDOWS,
    MasterAudio,
    PreviewFile,
    _sample_windows,
    preview_edits,
)
from common.audio.encode import AudioWriter
from common.audio.enhance import (
    LEVEL_BLOCK_S,
    RepairChain,
    learn_source,
    learn_windows,
    noise_level_db,
    plan_level,
)
from common.audio.loudness import Loudness, LoudnessMeter
from common.audio.program import Program, analyse, analyse_edges, apply_edits
from common.edits import PREVIEW_CONTEXT, PREVIEW_WHOLE, merge_edits, parse_edit_list
from tests.support.audio_samples import read_audio
from tests.support.speech_signals import hum, speech_layout, white_noise

RATE = 16000
REPAIRS = [{"op": "highpass"}, {"op": "dehum"}, {"op": "denoise"}, {"op": "deess"}, {"op": "level"}]
# What the pre-roll and the sampled analyses may change in an excerpt's level against the whole preview (measured
# about 0.05 dB on this material).
EXCERPT_LEVEL_BOUND_DB = 0.5


@pytest.fixture(scope="module")
def noisy_talk(tmp_path_factory: pytest.TempPathFactory) -> MasterAudio:
    """About 200 s of two speakers 12 dB apart, taking turns, over 50 Hz hum and white noise."""
    rng = np.random.default_rng(4)
    phrases = [(float(rng.uniform(2.0, 5.0)), -18.0 if index % 2 == 0 else -30.0) for index in range(60)]
    pauses = [float(rng.uniform(0.3, 2.0)) for _ in phrases]
    layout = speech_layout(RATE, phrases, pauses)
    frames = len(layout.signal)
    noisy = layout.signal + hum(frames, RATE, 50, -45.0) + white_noise(frames, -62.0)
    path = tmp_path_factory.mktemp("talk") / "master.flac"
    with AudioWriter(path, "flac24", rate=RATE, channels=1) as writer:
        writer.consume(noisy.astype(np.float32)[:, np.newaxis])
    return MasterAudio(path, RATE, 1, frames, Loudness(-22.0, 8.0, -10.0, -24.0, -10.5))


def _preview(master: MasterAudio, edits: list[dict], folder: Path, mode: str) -> PreviewFile:
    parsed = parse_edit_list(edits, master.frames / RATE)
    return preview_edits(master, parsed, folder, mode=mode, on_progress=lambda _: None, check_cancel=lambda: None)


def _level_db(samples: np.ndarray) -> float:
    return float(10.0 * np.log10(np.mean(samples.astype(np.float64) ** 2)))


def test_a_repair_lists_context_preview_plays_excerpts_as_loud_as_the_whole_preview(
    noisy_talk: MasterAudio, tmp_path: Path
) -> None:
    seconds = noisy_talk.frames / RATE
    assert seconds > REPAIR_SAMPLE_WINDOWS * REPAIR_SAMPLE_WINDOW_S
    edits = [
        *REPAIRS,
        {"op": "cut", "start": 40, "end": 70},
        {"op": "cut", "start": 120.5, "end": 121.5},
        {"op": "gain", "db": -6, "start": 150, "end": 160},
    ]

    context = _preview(noisy_talk, edits, tmp_path / "context", PREVIEW_CONTEXT)
    whole = _preview(noisy_talk, edits, tmp_path / "whole", PREVIEW_WHOLE)

    assert context.mode == "context"
    assert context.timeline_frames == whole.frames
    # Two joins and two gain edges, 3 s either side of each, none overlapping.
    assert len(context.segments) == 4
    assert context.duration_s < 30
    context_audio = read_audio(context.path)[0]
    whole_audio = read_audio(whole.path)[0]
    edge = round(0.01 * RATE)
    for segment in context.segments:
        length = segment.end - segment.start
        excerpt = context_audio[segment.at + edge : segment.at + length - edge]
        reference = whole_audio[segment.start + edge : segment.end - edge]
        assert abs(_level_db(excerpt) - _level_db(reference)) < EXCERPT_LEVEL_BOUND_DB, segment


def test_what_the_repairs_learn_from_a_sample_is_close_to_what_they_learn_from_the_whole(
    noisy_talk: MasterAudio,
) -> None:
    repairs = [edit for edit in parse_edit_list([{"op": "dehum"}, {"op": "denoise"}, {"op": "level"}], 1e6)]
    whole = RepairChain.of(repairs, RATE, 1)
    sampled = RepairChain.of(repairs, RATE, 1)
    assert whole is not None
    assert sampled is not None
    learn_source(whole, noisy_talk.path, check_cancel=lambda: None, progress=lambda _: None, frames=noisy_talk.frames)
    windows = _sample_windows(noisy_talk.frames, RATE)
    assert sum(end - start for start, end in windows) == REPAIR_SAMPLE_WINDOWS * REPAIR_SAMPLE_WINDOW_S * RATE
    learn_windows(sampled, noisy_talk.path, windows, frames=noisy_talk.frames, check_cancel=lambda: None)
    assert whole.learned is not None
    assert sampled.learned is not None

    assert sampled.learned.hum_hz == whole.learned.hum_hz == 50
    assert whole.learned.noise_power is not None
    assert sampled.learned.noise_power is not None
    profile_db = 10.0 * np.log10(sampled.learned.noise_power.mean() / whole.learned.noise_power.mean())
    assert abs(profile_db) < 1.0
    # The sampled blocks carry the whole's levels; the rest are unknown.
    assert whole.learned.levels_db is not None
    assert sampled.learned.levels_db is not None
    assert len(sampled.learned.levels_db) == len(whole.learned.levels_db)
    known = np.isfinite(sampled.learned.levels_db)
    assert known.sum() == REPAIR_SAMPLE_WINDOWS * REPAIR_SAMPLE_WINDOW_S / LEVEL_BLOCK_S
    np.testing.assert_allclose(sampled.learned.levels_db[known], whole.learned.levels_db[known], atol=1e-3)
    # Measuring the levels around a span gives the level plan there, as the whole recording's plan has it.
    block = round(LEVEL_BLOCK_S * RATE)
    learn_windows(
        sampled,
        noisy_talk.path,
        [(90 * RATE, 110 * RATE)],
        frames=noisy_talk.frames,
        check_cancel=lambda: None,
        levels_only=True,
    )
    assert sampled.learned.hum_hz == 50
    assert sampled.learned.noise_power is not None
    whole_plan = plan_level(whole.learned.levels_db, block, RATE, 12.0).gains_db
    sampled_plan = plan_level(sampled.learned.levels_db, block, RATE, 12.0).gains_db
    middle = slice(95 * RATE // block, 105 * RATE // block)
    assert np.max(np.abs(sampled_plan[middle] - whole_plan[middle])) < EXCERPT_LEVEL_BOUND_DB


def test_a_sample_with_few_pauses_learns_the_noise_floor_from_them_alone(noisy_talk: MasterAudio) -> None:
    repairs = parse_edit_list([{"op": "denoise"}], 1e6)
    whole = RepairChain.of(repairs, RATE, 1)
    sampled = RepairChain.of(repairs, RATE, 1)
    assert whole is not None
    assert sampled is not None
    learn_source(whole, noisy_talk.path, check_cancel=lambda: None, progress=lambda _: None, frames=noisy_talk.frames)
    # Twelve one-second windows hold a few seconds of pauses, fewer than the profile may take: the rest of its
    # quietest blocks are speech, or straddle two windows.
    windows = [(second * RATE, (second + 1) * RATE) for second in range(0, 24, 2)]
    learn_windows(sampled, noisy_talk.path, windows, frames=noisy_talk.frames, check_cancel=lambda: None)
    assert whole.learned is not None
    assert sampled.learned is not None
    assert whole.learned.noise_power is not None
    assert sampled.learned.noise_power is not None

    assert sampled.learned.noise_frames < whole.learned.noise_frames
    assert abs(noise_level_db(sampled.learned.noise_power) - noise_level_db(whole.learned.noise_power)) < 1.0


def _with_silent_ends(path: Path, seconds: int, lead_s: int, tail_s: int) -> MasterAudio:
    t = np.arange(seconds * RATE) / RATE
    samples = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    samples[: lead_s * RATE] = 0.0
    samples[len(samples) - tail_s * RATE :] = 0.0
    with AudioWriter(path, "flac24", rate=RATE, channels=1) as writer:
        writer.consume(samples[:, np.newaxis])
    return MasterAudio(path, RATE, 1, len(samples), None)


def test_trim_silence_on_a_seeking_program_reads_only_the_ends_and_trims_as_a_whole_reading_does(
    tmp_path: Path,
) -> None:
    master = _with_silent_ends(tmp_path / "master.flac", 300, 25, 12)
    program = Program(master.path, rate=RATE, channels=1, source_frames=master.frames, check_cancel=lambda: None)

    edges = analyse_edges(program, -40.0)
    whole = analyse(program, with_loudness=False)

    assert len(edges.block_peaks_db) == len(whole.block_peaks_db)
    read = np.isfinite(edges.block_peaks_db)
    # The middle of the recording was never read; what was read matches the whole reading.
    assert not read[len(read) // 2]
    assert read.sum() * 256 < 120 * RATE
    np.testing.assert_array_equal(edges.block_peaks_db[read], whole.block_peaks_db[read])
    apply_edits(program, merge_edits(parse_edit_list([{"op": "trimSilence", "thresholdDb": -40}], 300)))
    assert program.frames == pytest.approx((300 - 25 - 12) * RATE, abs=256)
    assert program.stage.pieces[0].source_start == pytest.approx(25 * RATE, abs=256)


def test_a_context_normalize_after_a_level_repair_is_corrected_by_what_the_level_does(
    noisy_talk: MasterAudio, tmp_path: Path
) -> None:
    meter = LoudnessMeter(RATE, 1)
    meter.consume(read_audio(noisy_talk.path)[0][: noisy_talk.frames].astype(np.float32))
    master = replace(noisy_talk, loudness=meter.finish())
    edits = [{"op": "level"}, {"op": "cut", "start": 40, "end": 70}, {"op": "normalize", "targetLufs": -20}]

    context = _preview(master, edits, tmp_path / "context", PREVIEW_CONTEXT)
    whole = _preview(master, edits, tmp_path / "whole", PREVIEW_WHOLE)

    assert context.mode == "context"
    # The level takes the loud speaker down and the quiet one up: the recording's loudness drops by dB.
    levelled = _preview(master, edits[:-1], tmp_path / "levelled", PREVIEW_WHOLE)
    assert master.loudness is not None
    assert master.loudness.integrated_lufs is not None
    assert levelled.loudness.integrated_lufs is not None
    assert levelled.loudness.integrated_lufs < master.loudness.integrated_lufs - 1.0
    (segment,) = context.segments
    edge = round(0.01 * RATE)
    excerpt = read_audio(context.path)[0][edge : segment.end - segment.start - edge]
    reference = read_audio(whole.path)[0][segment.start + edge : segment.end - edge]
    assert abs(_level_db(excerpt) - _level_db(reference)) < EXCERPT_LEVEL_BOUND_DB
