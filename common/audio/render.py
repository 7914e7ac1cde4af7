"""Rendering a version to a delivery file: format, rate, channels, level targets and tags (see
``common.render_options``), measured as a player hears it, so the result shows whether the targets were met.

The render plan (``docs/architecture.md``):

1. The level: the loudness and headroom profile ingest or edit-save stored for the version, when the render keeps
   its channels (a change of rate leaves speech's loudness within a few hundredths of a LU); otherwise one analysis
   pass (no true peak: the limiter takes care of peaks). The gain is the gap to the target plus what the limiter
   will take off at that gain, read from the headroom profile (``common.audio.headroom``), and, for a lossy
   format, what the encoder takes off (its low-pass), measured on a ``PROBE_S`` excerpt.
2. One pass: the program, times the gain to the target, through the look-ahead true-peak limiter
   (``common.audio.limiter``, correct by construction) to the encoder on its own thread; the loudness meter, on a
   third thread, reads what the encoder's packets decode to (lossy) or the samples written (lossless).
3. Only when that measurement misses (limiting took off more than ``LEVEL_RETRY_DB``, or a lossy encoder pushed a
   true peak over the ceiling despite ``LOSSY_PEAK_MARGIN_DB``) is the file rendered again, corrected.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common.audio.background import BackgroundConsumer
from common.audio.chunks import Tee
from common.audio.compliance import ComplianceReport, Delivered, DeliveryMeter, compliance_report
from common.audio.editing import MasterAudio
from common.audio.encode import FILE_EXTENSIONS, open_writer
from common.audio.gains import MAX_GAIN_DB
from common.audio.headroom import Headroom
from common.audio.limiter import HOLDS_PEAKS_AT_DB, TruePeakLimiter
from common.audio.loudness import Loudness, LoudnessMeter
from common.audio.program import Program
from common.audio.progress import PassProgress
from common.audio.reader import RangeReader
from common.audio.source import CancelCheck, ProgressCallback
from common.render_options import LOSSY_FORMATS, RenderOptions, RenderTargets
from common.stages import JobStage

logger = logging.getLogger(__name__)

LOSSY_PEAK_MARGIN_DB = 0.5
MAX_RENDER_ATTEMPTS = 3
# A file further than this from the level aimed at is rendered again with the gain corrected.
LEVEL_RETRY_DB = 0.25
GAIN_SOLVER_STEPS = 20
# The most loudness a render lets its limiter take off to meet a target (see ``leveling_gain_db``).
MAX_LIMITING_DB = 20.0
# Halvings of 0..MAX_GAIN_DB that find the gain at that limit to within a thousandth of a dB.
GAIN_BISECTION_STEPS = 17
# The excerpt a lossy encoder's effect on the level is measured on.
PROBE_S = 30.0
# Extra room a lossy re-render leaves under the ceiling beyond the overshoot it saw.
OVERSHOOT_EXTRA_DB = 0.2
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
    compliance: ComplianceReport
    # How often the program was read: an analysis pass (when no stored measurement fits) plus each render.
    passes: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    @property
    def targets_met(self) -> bool:
        return self.compliance.passed


@dataclass(frozen=True, slots=True)
class _Written:
    frames: int
    delivered: Delivered

    @property
    def loudness(self) -> Loudness:
        return self.delivered.loudness


def render_master(
    master: MasterAudio,
    options: RenderOptions,
    out_dir: Path,
    *,
    title: str | None,
    on_progress: ProgressCallback,
    check_cancel: CancelCheck,
    on_stage: Callable[[str], None] | None = None,
) -> RenderedFile:
    """Render ``master`` as ``options`` ask into ``out_dir``, under a file name made from ``title``; ``on_stage``
    hears each pass's stage (measuring, encoding, then correcting for each render made again)."""
    targets = options.resolved_targets
    rate = output_rate(options, master.sample_rate)
    channels = targets.channels or master.channels
    lossy = options.format in LOSSY_FORMATS
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{file_stem(title)}.{FILE_EXTENSIONS[options.format]}"
    aim = targets.integrated_lufs if targets.integrated_lufs is not None else targets.rms_db_aim
    stored = _stored_loudness(master, targets, channels)
    analyse = aim is not None and stored is None
    progress = PassProgress(on_progress, 2 if analyse else 1, on_stage)
    program = Program(
        master.path,
        rate=rate,
        channels=channels,
        source_frames=round(master.frames * rate / master.sample_rate),
        check_cancel=check_cancel,
        progress=progress,
    )
    bitrate = options.resolved_bitrate_kbps
    if options.format == "mp3" and bitrate is not None and rate < MP3_FULL_RATE_MIN:
        # MPEG-2 layer III (below 32 kHz) tops out at 160 kbit/s; LAME would clamp silently.
        bitrate = min(bitrate, MP3_LOW_RATE_MAX_KBPS)
    passes = 0
    measured = stored
    if analyse:
        measured = measure_program(program)
        passes += 1
    level = None if measured is None else _level(targets, measured)
    ceiling = targets.true_peak_db
    if ceiling is not None and lossy:
        ceiling -= LOSSY_PEAK_MARGIN_DB
    headroom = None if measured is None else measured.headroom
    # What moves the level besides the gain and the limiter: the lossy encoder, and whatever a miss reveals.
    shift = 0.0
    gain_db = 0.0
    if aim is not None and level is not None:
        gain_db = leveling_gain_db(aim - level, headroom, ceiling)
        if lossy:
            shift = codec_level_shift_db(program, path, options, bitrate, targets, gain_db=gain_db, ceiling_db=ceiling)
            gain_db = leveling_gain_db(aim - level - shift, headroom, ceiling)
    for attempt in range(1, MAX_RENDER_ATTEMPTS + 1):
        stage = JobStage.ENCODING if attempt == 1 else JobStage.CORRECTING
        written = _write(program, path, options, bitrate, stage, gain_db=gain_db, ceiling_db=ceiling, lossy=lossy)
        passes += 1
        loudness = written.loudness
        measured_level = _level(targets, loudness)
        level_error = 0.0 if aim is None or measured_level is None or level is None else aim - measured_level
        overshoot = 0.0
        if targets.true_peak_db is not None and loudness.true_peak_dbtp is not None:
            overshoot = loudness.true_peak_dbtp - targets.true_peak_db
        logger.debug(
            "render attempt %d: gain %.2f dB, %.2f dB from the level aimed at, true peak %.2f dB over",
            attempt,
            gain_db,
            level_error,
            overshoot,
        )
        if abs(level_error) <= LEVEL_RETRY_DB and overshoot <= 0:
            break
        if overshoot > 0 and ceiling is not None:
            ceiling -= overshoot + OVERSHOOT_EXTRA_DB
        if aim is not None and level is not None:
            shift -= level_error
            corrected = leveling_gain_db(aim - level - shift, headroom, ceiling)
            if overshoot <= 0 and corrected == gain_db:
                # Held at the limiting cap: another render would write the same file.
                break
            gain_db = corrected
    report = compliance_report(targets, written.delivered, sample_rate=rate, channels=channels)
    return RenderedFile(path, written.frames, rate, channels, bitrate, loudness, targets, report, passes)


def codec_level_shift_db(
    program: Program,
    path: Path,
    options: RenderOptions,
    bitrate: int | None,
    targets: RenderTargets,
    *,
    gain_db: float,
    ceiling_db: float | None,
) -> float:
    """How far the lossy encoder moves the level (its low-pass takes off what the program has above it), measured
    on the first ``PROBE_S`` of the program leveled as the render will level it, before and after a round trip
    through the encoder. A render's program is its master as it is, so the excerpt is read straight from it."""
    frames = min(program.frames, round(PROBE_S * program.rate))
    with RangeReader(program.master, rate=program.rate, channels=program.channels) as reader:
        excerpt = reader.read(0, frames)
    decoded = LoudnessMeter(program.rate, program.channels, true_peak=False)
    probe = path.with_name(f".probe-{path.name}")
    writer = open_writer(
        probe, options.format, rate=program.rate, channels=program.channels, bitrate_kbps=bitrate, monitor=decoded
    )
    try:
        limiter = TruePeakLimiter(
            Tee(writer, LoudnessMeter(program.rate, program.channels, true_peak=False)),
            rate=program.rate,
            channels=program.channels,
            gain_db=gain_db,
            ceiling_db=ceiling_db,
        )
        limiter.consume(excerpt)
        _frames, before = limiter.finish()
    except BaseException as exc:
        writer.__exit__(type(exc))
        raise
    finally:
        probe.unlink(missing_ok=True)
    level_before = _level(targets, before)
    level_after = _level(targets, decoded.finish())
    if level_before is None or level_after is None:
        return 0.0
    logger.debug("the encoder moves the level by %.2f dB", level_after - level_before)
    return level_after - level_before


def measure_program(program: Program) -> Loudness:
    """The analysis pass: the program's loudness and RMS level (its true peak is the limiter's business)."""
    meter = BackgroundConsumer(LoudnessMeter(program.rate, program.channels, true_peak=False), "loudness")
    try:
        program.play(meter.consume, stage=JobStage.MEASURING)
    except BaseException:
        meter.abandon()
        raise
    return meter.finish()


def _write(
    program: Program,
    path: Path,
    options: RenderOptions,
    bitrate: int | None,
    stage: JobStage,
    *,
    gain_db: float,
    ceiling_db: float | None,
    lossy: bool,
) -> _Written:
    """Play the program through the gain and limiter into the file, measuring what a player will hear."""
    meter = BackgroundConsumer(DeliveryMeter(program.rate, program.channels), "loudness")
    writer = open_writer(
        path,
        options.format,
        rate=program.rate,
        channels=program.channels,
        bitrate_kbps=bitrate,
        tags=options.tags,
        monitor=meter if lossy else None,
    )
    encoder = BackgroundConsumer(writer, "encoder")
    try:
        if lossy:
            lossy_limiter = TruePeakLimiter(
                encoder, rate=program.rate, channels=program.channels, gain_db=gain_db, ceiling_db=ceiling_db
            )
            program.play(lossy_limiter.consume, stage=stage)
            frames = lossy_limiter.finish()
            return _Written(frames, meter.finish())
        limiter = TruePeakLimiter(
            Tee(encoder, meter), rate=program.rate, channels=program.channels, gain_db=gain_db, ceiling_db=ceiling_db
        )
        program.play(limiter.consume, stage=stage)
        frames, delivered = limiter.finish()
        return _Written(frames, delivered)
    except BaseException as exc:
        encoder.abandon()
        meter.abandon()
        writer.__exit__(type(exc))
        raise


def leveling_gain_db(level_gap_db: float, headroom: Headroom | None, ceiling_db: float | None) -> float:
    """The gain that moves the program by ``level_gap_db`` once the limiter has taken its share: the fixed point
    of ``gain = gap + loss(gain)``, but never a gain at which the limiter takes more than ``MAX_LIMITING_DB``.

    The loss grows more slowly than the gain while the limiter only trims peaks. Once every stretch of speech is
    held at the ceiling it grows as fast: more gain then raises only what lies between the words (room tone,
    breaths), there is no fixed point, and the iteration ran on to gains of 60 dB and more, meeting a loudness
    target by lifting the noise floor. Such a target is out of reach of the recording: the render stops at the
    cap and its compliance report says the level was missed."""
    if headroom is None or ceiling_db is None:
        return level_gap_db
    limit_at = ceiling_db + HOLDS_PEAKS_AT_DB
    gain = level_gap_db
    for _ in range(GAIN_SOLVER_STEPS):
        gain = level_gap_db + headroom.loss_db(gain, limit_at)
    if headroom.loss_db(gain, limit_at) <= MAX_LIMITING_DB:
        return gain
    return _most_gain_db(headroom, limit_at)


def _most_gain_db(headroom: Headroom, limit_at: float) -> float:
    """The largest gain at which the limiter takes at most ``MAX_LIMITING_DB`` (the loss never falls as the gain
    grows, so a bisection finds it)."""
    low, high = 0.0, MAX_GAIN_DB
    for _ in range(GAIN_BISECTION_STEPS):
        middle = (low + high) / 2
        if headroom.loss_db(middle, limit_at) <= MAX_LIMITING_DB:
            low = middle
        else:
            high = middle
    return low


def _stored_loudness(master: MasterAudio, targets: RenderTargets, channels: int) -> Loudness | None:
    """The version's stored loudness when it holds for the render: same channels (a downmix changes loudness),
    a usable level (a number, or ``None`` for silence) and, when peaks are limited, its headroom profile."""
    if master.loudness is None or channels != master.channels:
        return None
    if targets.true_peak_db is not None and master.loudness.headroom is None:
        return None
    level = _level(targets, master.loudness)
    if level is not None and not (isinstance(level, int | float) and math.isfinite(level)):
        return None
    return master.loudness


def _level(targets: RenderTargets, loudness: Loudness) -> float | None:
    return loudness.integrated_lufs if targets.integrated_lufs is not None else loudness.rms_db


def output_rate(options: RenderOptions, master_rate: int) -> int:
    """The target's rate, else the master's, brought within what the format can carry."""
    rate = options.resolved_targets.sample_rate or master_rate
    if options.format == "mp3" and rate > MP3_MAX_RATE:
        return MP3_MAX_RATE
    return rate


def file_stem(title: str | None) -> str:
    """A readable file name stem from a title: letters (accented ones too), digits, '-' and '_'; the download's
    ASCII fallback name is made where it is served (web/routes/media.py)."""
    letters = unicodedata.normalize("NFC", title or "")
    stem = re.sub(r"[^\w-]+", "-", letters).strip("-_")[:FILENAME_MAX_CHARS].strip("-_")
    return stem or "audio"
