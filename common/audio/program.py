"""An edit list as a program over a source: which source frames play, in order, and the gain curves on them.

Trims and cuts only ever drop spans, so the timeline after any edit is a list of source spans in source order
("pieces"). Each edit that changes the timeline starts a new stage; a gain curve belongs to the stage it was
defined on and is evaluated at a frame's position on that stage. Playing the program reads the source once, front
to back, and joins pieces at a cut with a short raised-cosine crossfade centred on the cut, so lengths stay exact
to the sample. Edits that depend on the audio (normalize, trimSilence) run an analysis pass over the program so far.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from common.audio.background import BackgroundConsumer
from common.audio.enhance import RepairChain
from common.audio.gains import MAX_GAIN, PEAK_BLOCK_FRAMES, REGION_RAMP_S, Fade, GainCurve, RegionGain
from common.audio.leveling import AnalysisResult, LevelTarget, plan_leveling
from common.audio.loudness import LoudnessMeter
from common.audio.progress import PassProgress
from common.audio.reader import RangeReader
from common.audio.source import CancelCheck, SourceFile
from common.edits import Cut, FadeIn, FadeOut, Gain, Normalize, NumberedEdit, ShortenPauses, Trim, TrimSilence
from common.errors import EditListError
from common.stages import JobStage

# Half the length of the crossfade at each cut.
CROSSFADE_HALF_S = 0.005
PLAY_CHUNK_FRAMES = 1 << 15
# trimSilence on a program that seeks reads each end inwards, in windows doubling from this long.
EDGE_SCAN_S = 10.0

Sink = Callable[[np.ndarray], None]


@dataclass(frozen=True, slots=True)
class Piece:
    source_start: int
    length: int

    @property
    def source_end(self) -> int:
        return self.source_start + self.length


@dataclass(frozen=True, slots=True)
class Stage:
    """One state of the timeline: its pieces and where each starts on it."""

    pieces: tuple[Piece, ...]
    starts: tuple[int, ...]
    source_starts: tuple[int, ...]

    @classmethod
    def of(cls, pieces: list[Piece]) -> Stage:
        kept = [piece for piece in pieces if piece.length > 0]
        starts, position = [], 0
        for piece in kept:
            starts.append(position)
            position += piece.length
        return cls(tuple(kept), tuple(starts), tuple(piece.source_start for piece in kept))

    @property
    def frames(self) -> int:
        return self.starts[-1] + self.pieces[-1].length if self.pieces else 0

    def position_of(self, source_frame: int) -> int:
        """Where ``source_frame`` (which must play in this stage) sits on the stage's timeline."""
        index = max(bisect.bisect_right(self.source_starts, source_frame) - 1, 0)
        return self.starts[index] + source_frame - self.source_starts[index]

    def keep(self, start: int, end: int) -> list[Piece]:
        """The pieces covering timeline frames ``start .. end``."""
        kept = []
        for piece, piece_start in zip(self.pieces, self.starts, strict=True):
            low = max(start, piece_start)
            high = min(end, piece_start + piece.length)
            if high > low:
                kept.append(Piece(piece.source_start + low - piece_start, high - low))
        return kept


@dataclass(slots=True)
class Program:
    """The playable result of an edit list. Build it with ``apply_edits`` (and ``level``); ``play`` streams it to
    a sink."""

    master: SourceFile
    rate: int
    channels: int
    source_frames: int
    check_cancel: CancelCheck
    progress: PassProgress | None = None
    # The edit list's repairs: every pass reads the source through a fresh set of their filters.
    repairs: RepairChain | None = None
    # When set, a span of a program with repairs is read by seeking, the filters restarted this many frames before
    # it (a context preview's approximation, see ``common.audio.reader``); otherwise they read through.
    repair_preroll: int | None = None
    stages: list[Stage] = field(default_factory=list)
    curves: list[tuple[int, GainCurve]] = field(default_factory=list)
    # Frames shortenPauses took out.
    pause_frames_removed: int = 0

    def __post_init__(self) -> None:
        if not self.stages:
            self.stages.append(Stage.of([Piece(0, self.source_frames)]))

    @property
    def stage(self) -> Stage:
        return self.stages[-1]

    @property
    def frames(self) -> int:
        return self.stage.frames

    def frames_at(self, seconds: float) -> int:
        return min(max(round(seconds * self.rate), 0), self.frames)

    def add_curve(self, curve: GainCurve) -> None:
        self.curves.append((len(self.stages) - 1, curve))

    def keep(self, start: int, end: int, where: str) -> None:
        pieces = self.stage.keep(start, end)
        if not pieces:
            raise EditListError(where, "leaves no audio")
        self.stages.append(Stage.of(pieces))

    def remove(self, start: int, end: int, where: str) -> None:
        self.remove_spans([(start, end)], where)

    def remove_spans(self, spans: list[tuple[int, int]], where: str) -> None:
        """Remove timeline frames ``start .. end`` of every span (in order, not overlapping) in one stage."""
        pieces: list[Piece] = []
        kept_from = 0
        for start, end in spans:
            pieces += self.stage.keep(kept_from, start)
            kept_from = end
        pieces += self.stage.keep(kept_from, self.frames)
        if not pieces:
            raise EditListError(where, "cuts the whole audio; nothing would be left")
        self.stages.append(Stage.of(pieces))

    def play(self, sink: Sink, span: tuple[int, int] | None = None, stage: JobStage = JobStage.EDITING) -> int:
        """Stream the program, or only its frames ``span`` (start, end), to ``sink`` in chunks; returns the number
        of frames played. A span is read by seeking in the master, so its cost does not grow with the position (unless
        the program has repairs without ``repair_preroll``, whose filters read through: see ``common.audio.reader``).
        ``stage`` names the pass to whoever follows the progress."""
        if self.progress is not None:
            self.progress.start_pass(stage)
        start, end = (0, self.frames) if span is None else span
        total = max(end - start, 1)
        played = 0
        with self._reader() as reader:
            for chunk in self._chunks(reader, start, end):
                sink(chunk)
                played += len(chunk)
                if self.progress is not None:
                    self.progress(played / total)
                self.check_cancel()
        return played

    @property
    def seeks(self) -> bool:
        """Whether reading a span costs that span only (no repairs, or repairs restarted with a pre-roll)."""
        return self.repairs is None or self.repair_preroll is not None

    def source_spans(self, start: int, end: int) -> list[tuple[int, int]]:
        """The source frames that timeline frames ``start`` .. ``end`` play (crossfades aside)."""
        return [(piece.source_start, piece.source_end) for piece in self.stage.keep(start, end)]

    def _reader(self) -> RangeReader:
        if self.repairs is None:
            return RangeReader(self.master, rate=self.rate, channels=self.channels)
        if self.repair_preroll is None:
            return RangeReader(self.master, rate=self.rate, channels=self.channels, filters=self.repairs.filters())
        return RangeReader(
            self.master,
            rate=self.rate,
            channels=self.channels,
            filters_at=self.repairs.filters_at,
            preroll=self.repair_preroll,
        )

    def timeline_position(self, stage_index: int, position: int) -> int:
        """Where ``position`` on stage ``stage_index`` lies on the program's final timeline: a frame later cut
        away maps to the join that replaced it."""
        stage = self.stages[stage_index]
        if not stage.pieces:
            return 0
        position = min(max(position, 0), stage.frames)
        index = max(bisect.bisect_right(stage.starts, position) - 1, 0)
        source = stage.source_starts[index] + position - stage.starts[index]
        final = self.stage
        at = max(bisect.bisect_right(final.source_starts, source) - 1, 0)
        offset = min(max(source - final.source_starts[at], 0), final.pieces[at].length)
        return final.starts[at] + offset

    # -- playing ------------------------------------------------------------------------------------------

    def _chunks(self, reader: RangeReader, start: int, end: int) -> Iterator[np.ndarray]:
        """The program's frames ``start`` .. ``end``: each piece's own frames, and a crossfade centred on each cut
        (computed whole, as it is a few milliseconds long, and cut to the span)."""
        pieces = self.stage.pieces
        halves = [self._crossfade_half(index) for index in range(len(pieces) - 1)]
        for index, piece in enumerate(pieces):
            piece_start = self.stage.starts[index]
            if piece_start >= end:
                return
            head = halves[index - 1] if index > 0 else 0
            tail = halves[index] if index < len(halves) else 0
            if piece_start + piece.length + tail <= start:
                continue
            position = max(head, start - piece_start)
            stop = min(piece.length - tail, end - piece_start)
            while position < stop:
                count = min(PLAY_CHUNK_FRAMES, stop - position)
                frames = reader.read(piece.source_start + position, count)
                yield frames * self._piece_gains(piece, position, count)[:, np.newaxis]
                position += count
            fade_start = piece_start + piece.length - tail
            if tail and fade_start < end and fade_start + 2 * tail > start:
                mixed = self._crossfade(reader, piece, pieces[index + 1], tail)
                yield mixed[max(start - fade_start, 0) : end - fade_start]

    def _crossfade_half(self, index: int) -> int:
        before, after = self.stage.pieces[index], self.stage.pieces[index + 1]
        if before.source_end == after.source_start:
            return 0
        return min(round(CROSSFADE_HALF_S * self.rate), before.length // 2, after.length // 2)

    def _crossfade(self, reader: RangeReader, before: Piece, after: Piece, half: int) -> np.ndarray:
        outgoing = reader.read(before.source_end - half, 2 * half)
        incoming = reader.read(after.source_start - half, 2 * half)
        outgoing_gains = np.concatenate(
            [
                self._piece_gains(before, before.length - half, half),
                np.repeat(self._piece_gains(before, before.length - 1, 1), half),
            ]
        )
        incoming_gains = np.concatenate(
            [np.repeat(self._piece_gains(after, 0, 1), half), self._piece_gains(after, 0, half)]
        )
        rising = np.sin(np.pi / 2 * (np.arange(2 * half) + 0.5) / (2 * half)) ** 2
        mixed = outgoing * (outgoing_gains * (1.0 - rising))[:, np.newaxis]
        mixed += incoming * (incoming_gains * rising)[:, np.newaxis]
        return mixed.astype(np.float32)

    def _piece_gains(self, piece: Piece, offset: int, count: int) -> np.ndarray:
        gains = np.ones(count, dtype=np.float32)
        for stage_index, curve in self.curves:
            start = self.stages[stage_index].position_of(piece.source_start) + offset
            gains *= curve.gains(start, count)
            # Each factor is finite, but their product need not be (ten +40 dB gains); a fade's 0 times an
            # infinite product would be NaN.
            np.minimum(gains, MAX_GAIN, out=gains)
        return gains


#: Adds the gain curve that brings a program as it is now to a target (``level`` measures it).
Leveler = Callable[[Program, LevelTarget], object]


def apply_edits(program: Program, edits: list[NumberedEdit], leveler: Leveler | None = None) -> None:
    """Build ``program`` from ``edits`` (``merge_edits``'s list) in order; trimSilence measures the program so far,
    and so does normalize unless ``leveler`` levels it another way (a context preview estimates)."""
    ramp = round(REGION_RAMP_S * program.rate)
    for index, edit in edits:
        where = f"edits[{index}]"
        if isinstance(edit, Trim):
            program.keep(program.frames_at(edit.start), program.frames_at(edit.end), where)
        elif isinstance(edit, Cut):
            program.remove(program.frames_at(edit.start), program.frames_at(edit.end), where)
        elif isinstance(edit, Gain):
            start = 0 if edit.start is None else program.frames_at(edit.start)
            end = program.frames if edit.end is None else program.frames_at(edit.end)
            if end > start:
                program.add_curve(RegionGain(edit.db, start, end, program.frames, ramp))
        elif isinstance(edit, FadeIn | FadeOut):
            length = program.frames_at(edit.duration)
            if length > 0:
                fade_in = isinstance(edit, FadeIn)
                program.add_curve(Fade(0 if fade_in else program.frames - length, length, fade_in=fade_in))
        elif isinstance(edit, Normalize):
            (leveler or level)(program, LevelTarget(integrated_lufs=edit.target_lufs, ceiling_db=edit.true_peak_db))
        elif isinstance(edit, TrimSilence):
            analysis = (
                analyse_edges(program, edit.threshold_db) if program.seeks else analyse(program, with_loudness=False)
            )
            _trim_silence(program, edit, analysis, where)
        elif isinstance(edit, ShortenPauses):
            _shorten_pauses(program, edit, analyse(program, with_loudness=False), where)


def level(program: Program, target: LevelTarget, first: AnalysisResult | None = None) -> AnalysisResult:
    """Add the gain curve that brings the program as it is now to ``target``. ``first`` is a measurement of the
    program as it is now, if one was made; the measurement used is returned for reuse."""
    measured = first or analyse(program, with_loudness=True)
    program.add_curve(plan_leveling(target, measured, lambda curve: analyse(program, with_loudness=True, extra=curve)))
    return measured


def analyse(program: Program, *, with_loudness: bool, extra: GainCurve | None = None) -> AnalysisResult:
    """Play the program (with ``extra`` added on its current stage) into a block-peak collector and, when asked,
    a loudness meter."""
    peaks = BlockPeaks()
    meter = None
    if with_loudness:
        meter = BackgroundConsumer(LoudnessMeter(program.rate, program.channels), "loudness")
    if extra is not None:
        program.add_curve(extra)

    def sink(chunk: np.ndarray) -> None:
        peaks.consume(chunk)
        if meter is not None:
            meter.consume(chunk)

    try:
        program.play(sink, stage=JobStage.MEASURING)
    except BaseException:
        if meter is not None:
            meter.abandon()
        raise
    finally:
        if extra is not None:
            program.curves.pop()
    if meter is None:
        return AnalysisResult(peaks.finish())
    loudness = meter.finish()
    return AnalysisResult(peaks.finish(), loudness.integrated_lufs, loudness.true_peak_dbtp, loudness.rms_db)


def analyse_edges(program: Program, threshold_db: float) -> AnalysisResult:
    """The block peaks trimSilence needs, read only from each end of the program inwards until a block reaches
    ``threshold_db`` (windows doubling from ``EDGE_SCAN_S``); blocks not read are ``-inf``. It finds the same first
    and last loud blocks as ``analyse`` at the cost of the silence at the ends, for a program that ``seeks``."""
    blocks = -(-program.frames // PEAK_BLOCK_FRAMES)
    peaks_db = np.full(blocks, -np.inf, dtype=np.float32)
    progress, program.progress = program.progress, None
    if progress is not None:
        progress.start_pass(JobStage.MEASURING)
    try:
        first_window = -(-round(EDGE_SCAN_S * program.rate) // PEAK_BLOCK_FRAMES)
        first, window = 0, first_window
        while first < blocks:
            last = min(first + window, blocks)
            found = _scan(program, peaks_db, first, last, threshold_db)
            first, window = last, window * 2
            if found:
                break
        scanned, last, window = first, blocks, first_window
        while last > scanned:
            first = max(last - window, scanned)
            if _scan(program, peaks_db, first, last, threshold_db):
                break
            last, window = first, window * 2
    finally:
        program.progress = progress
    if progress is not None:
        progress(1.0)
    return AnalysisResult(peaks_db)


def _scan(program: Program, peaks_db: np.ndarray, first: int, last: int, threshold_db: float) -> bool:
    """Measure blocks ``first`` .. ``last`` into ``peaks_db``; whether one of them reaches ``threshold_db``."""
    peaks = BlockPeaks()
    program.play(peaks.consume, (first * PEAK_BLOCK_FRAMES, min(last * PEAK_BLOCK_FRAMES, program.frames)))
    measured = peaks.finish()
    peaks_db[first : first + len(measured)] = measured
    return bool(np.any(measured >= threshold_db))


class BlockPeaks:
    """A chunk consumer (``common.audio.chunks``): the sample peak (dB, over channels) of every
    ``PEAK_BLOCK_FRAMES`` block of a stream."""

    def __init__(self) -> None:
        self._blocks: list[np.ndarray] = []
        self._carry: np.ndarray | None = None

    def consume(self, chunk: np.ndarray) -> None:
        magnitudes = np.max(np.abs(chunk), axis=1)
        if self._carry is not None:
            magnitudes = np.concatenate([self._carry, magnitudes])
        whole = len(magnitudes) // PEAK_BLOCK_FRAMES * PEAK_BLOCK_FRAMES
        if whole:
            self._blocks.append(magnitudes[:whole].reshape(-1, PEAK_BLOCK_FRAMES).max(axis=1))
        self._carry = magnitudes[whole:] if whole < len(magnitudes) else None

    def finish(self) -> np.ndarray:
        if self._carry is not None:
            self._blocks.append(np.array([self._carry.max()], dtype=np.float32))
        linear = np.concatenate(self._blocks) if self._blocks else np.zeros(0, dtype=np.float32)
        with np.errstate(divide="ignore"):
            return (20.0 * np.log10(linear.astype(np.float64))).astype(np.float32)


def _trim_silence(program: Program, edit: TrimSilence, analysis: AnalysisResult, where: str) -> None:
    loud = np.flatnonzero(analysis.block_peaks_db >= edit.threshold_db)
    if len(loud) == 0:
        raise EditListError(where, "the audio is quieter than the threshold throughout; nothing would be left")
    start = int(loud[0]) * PEAK_BLOCK_FRAMES
    end = min(program.frames, (int(loud[-1]) + 1) * PEAK_BLOCK_FRAMES)
    min_silence = round(edit.min_silence * program.rate)
    if start < min_silence:
        start = 0
    if program.frames - end < min_silence:
        end = program.frames
    if start > 0 or end < program.frames:
        program.keep(start, end, where)


def _shorten_pauses(program: Program, edit: ShortenPauses, analysis: AnalysisResult, where: str) -> None:
    """Every run of blocks whose peaks stay under the threshold, between sounds, longer than ``min_pause``: its
    middle is removed so that ``keep_pause`` of it is left, half on each side; the joins are crossfaded. A pause no
    longer than ``keep_pause`` is left as it is."""
    quiet = np.concatenate([[False], analysis.block_peaks_db < edit.threshold_db, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    longest = round(edit.min_pause * program.rate)
    keep = round(edit.keep_pause * program.rate)
    spans = []
    for first, last in zip(edges[::2], edges[1::2], strict=True):
        start = int(first) * PEAK_BLOCK_FRAMES
        end = min(program.frames, int(last) * PEAK_BLOCK_FRAMES)
        # A quiet run at either end of the timeline is leading or trailing silence, trimSilence's business.
        if start == 0 or end >= program.frames or end - start <= max(longest, keep):
            continue
        spans.append((start + keep // 2, end - (keep - keep // 2)))
    if spans:
        program.remove_spans(spans, where)
        program.pause_frames_removed += sum(end - start for start, end in spans)
