"""Executing an edit list on a version's master: a quick preview file, or a new version (master, loudness, peaks).

Edits run sample-accurately, in order (see ``common.audio.program``). The analysis passes that normalize and
trimSilence need come first; the last pass writes the output while measuring it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from common.audio.background import BackgroundConsumer
from common.audio.encode import AudioWriter
from common.audio.enhance import RepairChain, learn_source
from common.audio.loudness import Loudness, LoudnessMeter
from common.audio.program import Program, apply_edits
from common.audio.progress import PassProgress
from common.audio.source import CancelCheck, ProgressCallback
from common.audio.version import VersionFiles, VersionWriter
from common.edits import Edit, Normalize, ShortenPauses, TrimSilence, merge_edits

PREVIEW_ENCODING = "mp3"
PREVIEW_BITRATE_KBPS = 64
PREVIEW_MAX_RATE = 48000
PREVIEW_FILENAME = "preview.mp3"
# A normalize costs a measuring pass and, when it has to limit peaks, usually one check pass.
_PASSES_PER_EDIT = {Normalize: 2, TrimSilence: 1, ShortenPauses: 1}


@dataclass(frozen=True, slots=True)
class MasterAudio:
    """A version's master file, its measured format and, when stored with the version, its loudness."""

    path: Path
    sample_rate: int
    channels: int
    frames: int
    loudness: Loudness | None = None


@dataclass(frozen=True, slots=True)
class PreviewFile:
    path: Path
    frames: int
    sample_rate: int
    loudness: Loudness
    time_saved_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def save_edited_version(
    master: MasterAudio,
    edits: list[Edit],
    out_dir: Path,
    *,
    on_progress: ProgressCallback,
    check_cancel: CancelCheck,
) -> VersionFiles:
    """Write the edited audio as a new version (24-bit FLAC master, loudness, peaks) into ``out_dir``."""
    program = _build(master, master.sample_rate, edits, on_progress, check_cancel)
    with VersionWriter(out_dir, rate=program.rate, channels=program.channels, bits=24) as version:
        program.play(version.consume)
        return replace(version.finish(), time_saved_s=program.pause_frames_removed / program.rate)


def preview_edits(
    master: MasterAudio,
    edits: list[Edit],
    out_dir: Path,
    *,
    on_progress: ProgressCallback,
    check_cancel: CancelCheck,
) -> PreviewFile:
    """Write the edited audio as a small MP3 (64 kbit/s) into ``out_dir``."""
    rate = min(master.sample_rate, PREVIEW_MAX_RATE)
    program = _build(master, rate, edits, on_progress, check_cancel)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / PREVIEW_FILENAME
    measuring = BackgroundConsumer(LoudnessMeter(program.rate, program.channels), "loudness")
    try:
        with AudioWriter(
            path, PREVIEW_ENCODING, rate=program.rate, channels=program.channels, bitrate_kbps=PREVIEW_BITRATE_KBPS
        ) as writer:

            def sink(chunk: np.ndarray) -> None:
                writer.consume(chunk)
                measuring.consume(chunk)

            frames = program.play(sink)
    except BaseException:
        measuring.abandon()
        raise
    return PreviewFile(path, frames, program.rate, measuring.finish(), program.pause_frames_removed / program.rate)


def _build(
    master: MasterAudio, rate: int, edits: list[Edit], on_progress: ProgressCallback, check_cancel: CancelCheck
) -> Program:
    merged = merge_edits(edits)
    repairs = RepairChain.of(edits, rate, master.channels)
    learning = repairs is not None and repairs.needs_learning
    passes = 1 + learning + sum(_PASSES_PER_EDIT.get(type(edit), 0) for _, edit in merged)
    progress = PassProgress(on_progress, passes)
    frames = _frames_at(master, rate)
    if repairs is not None and learning:
        progress.start_pass()
        learn_source(repairs, master.path, check_cancel=check_cancel, progress=progress, frames=frames)
    program = Program(
        master.path,
        rate=rate,
        channels=master.channels,
        source_frames=frames,
        check_cancel=check_cancel,
        progress=progress,
        repairs=repairs,
    )
    apply_edits(program, merged)
    return program


def _frames_at(master: MasterAudio, rate: int) -> int:
    return master.frames if rate == master.sample_rate else round(master.frames * rate / master.sample_rate)
