"""Rendering a version to a delivery file: format, rate, channels, level targets and tags (see
``common.render_options``), then measuring the file written, so the result shows whether the targets were met.

The level is set in two passes (measure, then apply with a limiter if peaks need it). A lossy encoder lets true
peaks overshoot a little; the render keeps ``LOSSY_PEAK_MARGIN_DB`` of room and, if the file written still
overshoots, renders once more with more room.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from common.audio.editing import MasterAudio
from common.audio.encode import ENCODINGS, AudioWriter
from common.audio.leveling import AnalysisResult, LevelTarget
from common.audio.loudness import Loudness, LoudnessMeter
from common.audio.program import Program, level
from common.audio.progress import PassProgress
from common.audio.source import CancelCheck, ProgressCallback, open_source
from common.render_options import LOSSY_FORMATS, RenderOptions, RenderTargets

logger = logging.getLogger(__name__)

LOSSY_PEAK_MARGIN_DB = 0.5
LEVEL_TOLERANCE_LU = 0.5
PEAK_TOLERANCE_DB = 0.05
MAX_RENDER_ATTEMPTS = 3
# A file further than this from the level aimed at is rendered again with the gain corrected.
LEVEL_RETRY_DB = 0.25
MP3_MAX_RATE = 48000
MP3_FULL_RATE_MIN = 32000
MP3_LOW_RATE_MAX_KBPS = 160
FILENAME_MAX_CHARS = 80


@dataclass(frozen=True, slots=True)
class RenderedFile:
    path: Path
    frames: int
    sample_rate: int
    channels: int
    bitrate_kbps: int | None
    loudness: Loudness
    targets: RenderTargets
    targets_met: bool

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def render_master(
    master: MasterAudio,
    options: RenderOptions,
    out_dir: Path,
    *,
    title: str | None,
    on_progress: ProgressCallback,
    check_cancel: CancelCheck,
) -> RenderedFile:
    """Render ``master`` as ``options`` ask into ``out_dir``, under a file name made from ``title``."""
    targets = options.resolved_targets
    rate = output_rate(options, master.sample_rate)
    channels = targets.channels or master.channels
    lossy = options.format in LOSSY_FORMATS
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{file_stem(title)}.{ENCODINGS[options.format].extension}"
    margin = LOSSY_PEAK_MARGIN_DB if lossy else 0.0
    leveled = targets.integrated_lufs is not None or targets.rms_db_aim is not None or targets.true_peak_db is not None
    progress = PassProgress(on_progress, (3 if leveled else 1) + 1)
    program = Program(
        master.path,
        rate=rate,
        channels=channels,
        source_frames=round(master.frames * rate / master.sample_rate),
        check_cancel=check_cancel,
        progress=progress,
    )
    aim = targets.integrated_lufs if targets.integrated_lufs is not None else targets.rms_db_aim
    bitrate = options.resolved_bitrate_kbps
    if options.format == "mp3" and bitrate is not None and rate < MP3_FULL_RATE_MIN:
        # MPEG-2 layer III (below 32 kHz) tops out at 160 kbit/s; LAME would clamp silently.
        bitrate = min(bitrate, MP3_LOW_RATE_MAX_KBPS)
    first: AnalysisResult | None = None
    offset = 0.0
    for attempt in range(1, MAX_RENDER_ATTEMPTS + 1):
        if leveled:
            if first is not None:
                program.curves.pop()
            target = LevelTarget(
                integrated_lufs=None if targets.integrated_lufs is None else targets.integrated_lufs + offset,
                rms_db=None if targets.integrated_lufs is not None or aim is None else aim + offset,
                ceiling_db=targets.true_peak_db,
                margin_db=margin,
            )
            first = level(program, target, first)
        with AudioWriter(
            path, options.format, rate=rate, channels=channels, bitrate_kbps=bitrate, tags=options.tags
        ) as writer:
            program.play(writer.write)
        frames, file_rate, file_channels, loudness = measure_file(path, progress, check_cancel)
        measured = loudness.integrated_lufs if targets.integrated_lufs is not None else loudness.rms_db
        level_error = 0.0 if aim is None or measured is None else aim - measured
        overshoot = 0.0
        if targets.true_peak_db is not None and loudness.true_peak_dbtp is not None:
            overshoot = loudness.true_peak_dbtp - targets.true_peak_db
        logger.debug(
            "render attempt %d: %.2f dB from the level aimed at, true peak %.2f dB over",
            attempt,
            level_error,
            overshoot,
        )
        if abs(level_error) <= LEVEL_RETRY_DB and overshoot <= 0:
            break
        # The encoder changed the level or the peaks (MP3 comes out about 0.4 dB quieter): correct and redo.
        offset += level_error
        if overshoot > 0:
            margin += overshoot + 0.2
    met = targets_met(targets, loudness, file_rate, file_channels)
    return RenderedFile(path, frames, file_rate, file_channels, bitrate, loudness, targets, met)


def output_rate(options: RenderOptions, master_rate: int) -> int:
    """The target's rate, else the master's, brought within what the format can carry."""
    rate = options.resolved_targets.sample_rate or master_rate
    if options.format == "mp3" and rate > MP3_MAX_RATE:
        return MP3_MAX_RATE
    return rate


def measure_file(path: Path, progress: PassProgress, check_cancel: CancelCheck) -> tuple[int, int, int, Loudness]:
    """Decode a written file as any player would and measure it: frames, rate, channels, loudness."""
    progress.start_pass()
    with open_source(path) as source:
        rate = source.info.sample_rate
        channels = source.info.master_channels
        meter = LoudnessMeter(rate, channels)
        frames = 0
        for chunk in source.decode_chunks(rate=rate, channels=channels):
            meter.add(chunk)
            frames += len(chunk)
            progress(source.read_fraction())
            check_cancel()
    return frames, rate, channels, meter.finish()


def targets_met(targets: RenderTargets, loudness: Loudness, rate: int, channels: int) -> bool:
    checks = []
    if targets.integrated_lufs is not None:
        measured = loudness.integrated_lufs
        checks.append(measured is not None and abs(measured - targets.integrated_lufs) <= LEVEL_TOLERANCE_LU)
    if targets.true_peak_db is not None:
        peak = loudness.true_peak_dbtp
        checks.append(peak is None or peak <= targets.true_peak_db + PEAK_TOLERANCE_DB)
    if targets.rms_db_min is not None and targets.rms_db_max is not None:
        rms = loudness.rms_db
        checks.append(rms is not None and targets.rms_db_min <= rms <= targets.rms_db_max)
    if targets.sample_rate is not None:
        checks.append(rate == targets.sample_rate)
    if targets.channels is not None:
        checks.append(channels == targets.channels)
    return all(checks)


def file_stem(title: str | None) -> str:
    """A readable file name stem from a title: letters (accented ones too), digits, '-' and '_'; the download's
    ASCII fallback name is made where it is served (web/routes/media.py)."""
    letters = unicodedata.normalize("NFC", title or "")
    stem = re.sub(r"[^\w-]+", "-", letters).strip("-_")[:FILENAME_MAX_CHARS].strip("-_")
    return stem or "audio"
