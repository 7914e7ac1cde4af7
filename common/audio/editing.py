"""Executing an edit list on a version's master: a quick preview file, or a new version (master, loudness, peaks).

Edits run sample-accurately, in order (see ``common.audio.program``). The analysis passes that normalize and
trimSilence need come first; the last pass writes the output while measuring it.

A context preview (``common.edits.PREVIEW_RULE``) plays only the edited audio around each edit point: a few seconds
before and after each join, trim end, region gain edge and fade, excerpts joined by a short silence. Each excerpt is
read by seeking in the master, so its cost follows the number of edits, not the recording's length. Its normalize
is estimated from the version's stored loudness (a constant gain, capped at the true-peak ceiling, no limiter)
instead of a measuring pass; a trimSilence reads each end of the program inwards until it meets sound (the same
result at the cost of the silence trimmed), a shortenPauses still measures the whole program (every pause it
shortens is an edit point).

Repairs (``common.audio.enhance``) in a context preview are an approximation of the saved result, bounded in cost:
- what they learn (hum frequency, noise profile, level statistics) comes from ``REPAIR_SAMPLE_WINDOWS`` windows of
  ``REPAIR_SAMPLE_WINDOW_S`` spread evenly over the source, plus, for ``level``, the source around each excerpt
  (its plan's reach, ``LEVEL_REACH_S``), instead of the whole recording;
- each excerpt's filters start afresh ``REPAIR_PREROLL_S`` before it, read and dropped, so their state (IIR and
  notch memory, the denoiser's a-priori SNR) has settled by the excerpt;
- a normalize is still estimated from the stored loudness, corrected by what a level repair's plan does to the
  loudness of the blocks learned (the repair that changes it most: it brings speech to its mean level in dB, below
  its mean energy), and capped by the stored true peak; denoise, dehum, highpass and deess take off what the
  loudness gate mostly ignores.
On generated noisy speech the excerpts' level stays within ``tests/audio/test_audio_context_repairs.py``'s bound of
the same spans of the whole preview.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from common.audio.background import BackgroundConsumer
from common.audio.encode import open_writer
from common.audio.enhance import LEVEL_BLOCK_S, LEVEL_SILENT_DB, RepairChain, learn_source, learn_windows, plan_level
from common.audio.gains import Fade, Leveling, RegionGain
from common.audio.leveling import LevelTarget
from common.audio.loudness import Loudness, LoudnessMeter
from common.audio.program import Leveler, Program, Sink, apply_edits
from common.audio.progress import PassProgress
from common.audio.repair_notes import RepairNote, repair_notes
from common.audio.source import CancelCheck, ProgressCallback, SourceFile
from common.audio.version import VersionFiles, VersionWriter
from common.edits import (
    PREVIEW_CONTEXT_S,
    PREVIEW_GAP_S,
    PREVIEW_OPENING_S,
    PREVIEW_WHOLE,
    PREVIEW_WHOLE_UNDER_S,
    Edit,
    Level,
    Normalize,
    ShortenPauses,
    TrimSilence,
    merge_edits,
)
from common.stages import JobStage

PREVIEW_ENCODING = "mp3"
PREVIEW_BITRATE_KBPS = 64
PREVIEW_MAX_RATE = 48000
PREVIEW_FILENAME = "preview.mp3"
# LAME's quality 7 (of 0 best .. 9 fastest) encodes about 2.3 times faster than its default here, and a preview is
# listened to once at 64 kbit/s: the encoder is most of a context preview's time.
PREVIEW_MP3_QUALITY = 7
StageCallback = Callable[[str], None]
# Each excerpt of a context preview rises from and falls to silence over this long, so the joins do not click.
EXCERPT_RAMP_S = 0.005
# A context preview with repairs learns from this many windows this long, spread evenly over the source.
REPAIR_SAMPLE_WINDOWS = 120
REPAIR_SAMPLE_WINDOW_S = 1
# ... restarts the filters this long before each excerpt: on generated noisy speech the excerpt then differs from
# a reading through by less than -60 dB (notches at Q 25, the denoiser's a-priori SNR).
REPAIR_PREROLL_S = 1.0
# ... and measures the level of the source this far either side of each excerpt: the level plan's window (1.5 s),
# the phrase hangover and the smoothing.
LEVEL_REACH_S = 3
# A context normalize after a level repair corrects the stored loudness by the level's gains over the blocks at
# most this far under the mean energy (loudness gating's relative gate).
LOUDNESS_GATE_DB = 10.0
# A normalize costs a measuring pass and, when it has to limit peaks, usually one check pass.
_PASSES_PER_EDIT = {Normalize: 2, TrimSilence: 1, ShortenPauses: 1}


@dataclass(frozen=True, slots=True)
class MasterAudio:
    """A version's master file, its measured format and, when stored with the version, its loudness. ``path`` is a
    local file, or the media store's object read in byte ranges (a context preview on a store without local files).
    """

    path: SourceFile
    sample_rate: int
    channels: int
    frames: int
    loudness: Loudness | None = None


@dataclass(frozen=True, slots=True)
class PreviewSegment:
    """Frames ``start`` .. ``end`` of the edited timeline, played from frame ``at`` of the preview file; they come
    from source frames ``source_start`` .. ``source_end`` (what was cut between them included), which is what the
    page plays as the excerpt's "before"."""

    start: int
    end: int
    at: int
    source_start: int
    source_end: int

    def to_json(self, rate: int) -> dict[str, float]:
        return {
            "start": self.start / rate,
            "end": self.end / rate,
            "previewStart": self.at / rate,
            "sourceStart": self.source_start / rate,
            "sourceEnd": self.source_end / rate,
        }


@dataclass(frozen=True, slots=True)
class PreviewFile:
    path: Path
    frames: int
    sample_rate: int
    loudness: Loudness
    #: ``context`` or ``whole``: what was played, which for a short recording is always the whole.
    mode: str
    segments: tuple[PreviewSegment, ...]
    #: The edited timeline's length, of which the segments are spans.
    timeline_frames: int
    time_saved_s: float = 0.0
    repair_notes: tuple[RepairNote, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def segments_json(self) -> list[dict[str, float]]:
        return [segment.to_json(self.sample_rate) for segment in self.segments]


def save_edited_version(
    master: MasterAudio,
    edits: list[Edit],
    out_dir: Path,
    *,
    on_progress: ProgressCallback,
    check_cancel: CancelCheck,
    on_stage: StageCallback | None = None,
) -> VersionFiles:
    """Write the edited audio as a new version (24-bit FLAC master, loudness, peaks) into ``out_dir``."""
    program = _build(master, master.sample_rate, edits, on_progress, check_cancel, on_stage=on_stage)
    with VersionWriter(out_dir, rate=program.rate, channels=program.channels, bits=24) as version:
        program.play(version.consume)
        return replace(
            version.finish(),
            time_saved_s=program.pause_frames_removed / program.rate,
            repair_notes=repair_notes(program.repairs),
        )


def preview_edits(
    master: MasterAudio,
    edits: list[Edit],
    out_dir: Path,
    *,
    mode: str = PREVIEW_WHOLE,
    on_progress: ProgressCallback,
    check_cancel: CancelCheck,
    on_stage: StageCallback | None = None,
) -> PreviewFile:
    """Write the edited audio, or with ``mode="context"`` excerpts around its edit points, as a small MP3
    (64 kbit/s) into ``out_dir``."""
    rate = min(master.sample_rate, PREVIEW_MAX_RATE)
    if mode == PREVIEW_WHOLE or master.frames <= PREVIEW_WHOLE_UNDER_S * master.sample_rate:
        program = _build(master, rate, edits, on_progress, check_cancel, on_stage=on_stage)
        mode, spans = PREVIEW_WHOLE, [(0, program.frames)]
    else:
        program = _build(
            master, rate, edits, None, check_cancel, leveler=_estimated_leveler(master.loudness), context=True
        )
        spans = context_spans(program)
        if program.repairs is not None and any(isinstance(repair, Level) for repair in program.repairs.repairs):
            windows = _whole_seconds([span for start, end in spans for span in program.source_spans(start, end)], rate)
            widened = _whole_seconds(
                [(start - LEVEL_REACH_S * rate, end + LEVEL_REACH_S * rate) for start, end in windows], rate
            )
            learn_windows(
                program.repairs,
                master.path,
                widened,
                frames=program.source_frames,
                check_cancel=check_cancel,
                levels_only=True,
            )
        program.progress = PassProgress(on_progress, len(spans), on_stage)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / PREVIEW_FILENAME
    measuring = BackgroundConsumer(LoudnessMeter(program.rate, program.channels), "loudness")
    segments: list[PreviewSegment] = []
    try:
        with open_writer(
            path,
            PREVIEW_ENCODING,
            rate=program.rate,
            channels=program.channels,
            bitrate_kbps=PREVIEW_BITRATE_KBPS,
            mp3_quality=PREVIEW_MP3_QUALITY,
        ) as writer:

            def sink(chunk: np.ndarray) -> None:
                writer.consume(chunk)
                measuring.consume(chunk)

            frames = 0
            gap = np.zeros((round(PREVIEW_GAP_S * program.rate), program.channels), dtype=np.float32)
            for start, end in spans:
                if segments:
                    sink(gap)
                    frames += len(gap)
                sources = program.source_spans(start, end)
                source_start = min((low for low, _ in sources), default=0)
                source_end = max((high for _, high in sources), default=0)
                segments.append(PreviewSegment(start, end, frames, source_start, source_end))
                ramp = 0 if len(spans) == 1 else round(EXCERPT_RAMP_S * program.rate)
                frames += program.play(_Ramped(sink, end - start, ramp), (start, end))
    except BaseException:
        measuring.abandon()
        raise
    return PreviewFile(
        path,
        frames,
        program.rate,
        measuring.finish(),
        mode,
        tuple(segments),
        program.frames,
        program.pause_frames_removed / program.rate,
        repair_notes(program.repairs),
    )


def context_spans(program: Program) -> list[tuple[int, int]]:
    """The spans of ``program``'s timeline a context preview plays: ``PREVIEW_CONTEXT_S`` around each edit point,
    overlapping spans merged; the opening ``PREVIEW_OPENING_S`` when nothing changes at a point in time."""
    context = round(PREVIEW_CONTEXT_S * program.rate)
    spans: list[tuple[int, int]] = []
    for point in sorted(set(edit_points(program))):
        start, end = max(point - context, 0), min(point + context, program.frames)
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        elif end > start:
            spans.append((start, end))
    return spans or [(0, min(program.frames, round(PREVIEW_OPENING_S * program.rate)))]


def edit_points(program: Program) -> list[int]:
    """Where, on ``program``'s final timeline, its edits change something at a point in time: every join of a cut,
    a trimmed start or end, the edges of region gains and fades (whole-timeline level changes have none)."""
    stage = program.stage
    pieces = stage.pieces
    points = [
        start
        for before, after, start in zip(pieces, pieces[1:], stage.starts[1:], strict=False)
        if before.source_end != after.source_start
    ]
    if pieces and pieces[0].source_start > 0:
        points.append(0)
    if pieces and pieces[-1].source_end < program.source_frames:
        points.append(program.frames)
    for stage_index, curve in program.curves:
        edges: tuple[int, ...] = ()
        if isinstance(curve, RegionGain):
            # A gain's edge at an end of the timeline changes nothing at a point in time (a whole-timeline gain).
            edges = tuple(edge for edge in (curve.start, curve.end) if 0 < edge < curve.timeline_frames)
        elif isinstance(curve, Fade):
            edges = (curve.start, curve.start + curve.length)
        points.extend(program.timeline_position(stage_index, edge) for edge in edges)
    return points


class _Ramped:
    """A sink that eases the first and last ``ramp`` frames of a ``length``-frame excerpt from and to silence."""

    def __init__(self, sink: Sink, length: int, ramp: int) -> None:
        self._sink = sink
        self._length = length
        self._ramp = min(ramp, length // 2)
        self._position = 0

    def __call__(self, chunk: np.ndarray) -> None:
        if self._ramp:
            positions = np.arange(self._position, self._position + len(chunk), dtype=np.float32)
            weight = np.minimum(positions + 1, self._length - positions) / (self._ramp + 1)
            chunk = chunk * np.clip(weight, 0.0, 1.0)[:, np.newaxis]
        self._position += len(chunk)
        self._sink(chunk)


def _estimated_leveler(stored: Loudness | None) -> Leveler | None:
    """A normalize from the version's stored loudness, without a pass over the audio; ``None`` (measure) when the
    version has none."""
    if stored is None or stored.integrated_lufs is None:
        return None
    integrated = stored.integrated_lufs

    def estimate(program: Program, target: LevelTarget) -> None:
        gain_db = 0.0
        if target.integrated_lufs is not None:
            gain_db = target.integrated_lufs - integrated - _level_change_db(program.repairs)
        # The stored peak stays the cap: a level repair lowers the loudest speech more than it raises any peak.
        if target.ceiling_db is not None and stored.true_peak_dbtp is not None:
            gain_db = min(gain_db, target.ceiling_db - stored.true_peak_dbtp)
        program.add_curve(Leveling(gain_db, 0.0, None))

    return estimate


def _level_change_db(repairs: RepairChain | None) -> float:
    """How much a ``level`` repair changes the loudness the stored figures measured:
    its gains over the blocks learned, weighted by their energy, above a gate ``LOUDNESS_GATE_DB`` under their mean
    (as loudness gating keeps speech). 0 without a level repair."""
    if repairs is None or repairs.learned is None or repairs.learned.levels_db is None:
        return 0.0
    level = next((repair for repair in repairs.repairs if isinstance(repair, Level)), None)
    if level is None:
        return 0.0
    levels_db = repairs.learned.levels_db
    block = max(1, round(LEVEL_BLOCK_S * repairs.rate))
    gains_db = plan_level(levels_db, block, repairs.rate, level.max_gain_db).gains_db
    known = levels_db > LEVEL_SILENT_DB
    if not np.any(known):
        return 0.0
    energy = np.power(10.0, levels_db[known] / 10.0)
    kept = energy >= np.mean(energy) * 10.0 ** (-LOUDNESS_GATE_DB / 10.0)
    changed = np.sum(energy[kept] * np.power(10.0, gains_db[known][kept] / 10.0))
    return float(10.0 * np.log10(changed / np.sum(energy[kept])))


def _build(
    master: MasterAudio,
    rate: int,
    edits: list[Edit],
    on_progress: ProgressCallback | None,
    check_cancel: CancelCheck,
    *,
    leveler: Leveler | None = None,
    on_stage: StageCallback | None = None,
    context: bool = False,
) -> Program:
    """The program of ``edits``; with ``context``, its repairs learn from a sample and read spans with a pre-roll."""
    merged = merge_edits(edits)
    repairs = RepairChain.of(edits, rate, master.channels)
    learning = repairs is not None and repairs.needs_learning
    passes = 1 + learning + sum(_PASSES_PER_EDIT.get(type(edit), 0) for _, edit in merged)
    progress = None if on_progress is None else PassProgress(on_progress, passes, on_stage)
    frames = _frames_at(master, rate)
    if repairs is not None and learning:
        # Learning what the repairs need (hum, noise profile, levels) only measures the source.
        if progress is not None:
            progress.start_pass(JobStage.MEASURING)
        if context:
            learn_windows(repairs, master.path, _sample_windows(frames, rate), frames=frames, check_cancel=check_cancel)
        else:
            learn_source(
                repairs, master.path, check_cancel=check_cancel, progress=progress or _unreported, frames=frames
            )
    program = Program(
        master.path,
        rate=rate,
        channels=master.channels,
        source_frames=frames,
        check_cancel=check_cancel,
        progress=progress,
        repairs=repairs,
        repair_preroll=round(REPAIR_PREROLL_S * rate) if context else None,
    )
    apply_edits(program, merged, leveler)
    return program


def _sample_windows(frames: int, rate: int) -> list[tuple[int, int]]:
    """``REPAIR_SAMPLE_WINDOWS`` whole-second windows of the source spread evenly over it (the whole source when it
    is that short)."""
    length = REPAIR_SAMPLE_WINDOW_S * rate
    if frames <= REPAIR_SAMPLE_WINDOWS * length:
        return [(0, frames)]
    step = (frames - length) / (REPAIR_SAMPLE_WINDOWS - 1)
    starts = [round(index * step) // rate * rate for index in range(REPAIR_SAMPLE_WINDOWS)]
    return _whole_seconds([(start, min(start + length, frames)) for start in starts], rate)


def _whole_seconds(spans: list[tuple[int, int]], rate: int) -> list[tuple[int, int]]:
    """``spans`` widened to whole seconds, sorted and merged where they overlap or touch."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted((max(start, 0) // rate * rate, -(-end // rate) * rate) for start, end in spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _unreported(_fraction: float) -> None:
    pass


def _frames_at(master: MasterAudio, rate: int) -> int:
    return master.frames if rate == master.sample_rate else round(master.frames * rate / master.sample_rate)
