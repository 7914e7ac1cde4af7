"""Ingest: turn an uploaded file into an asset's first version (FLAC master, loudness, peaks) in one pass."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from common.audio.source import CancelCheck, MediaWarning, ProgressCallback, SourceInfo, open_source
from common.audio.version import VersionFiles, VersionWriter

logger = logging.getLogger(__name__)

_LOSSY_CODECS = frozenset({"mp3", "mp3float", "mp2", "mp2float", "aac", "aac_fixed", "opus", "libopus", "vorbis"})
_WIDE_SAMPLE_FORMATS = frozenset({"s32", "s32p", "s64", "s64p", "flt", "fltp", "dbl", "dblp"})


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    source: SourceInfo
    files: VersionFiles
    #: Damage the source had (cut short, frames skipped): the version holds what could be recovered.
    warnings: list[MediaWarning]


def ingest_file(
    upload: Path,
    out_dir: Path,
    *,
    max_duration_s: float,
    on_progress: ProgressCallback,
    check_cancel: CancelCheck,
) -> IngestOutcome:
    """Decode ``upload`` (identified by content) into ``out_dir``. Raises ``MediaError`` for unusable media and
    whatever ``check_cancel`` raises between chunks."""
    with open_source(upload) as source:
        info = source.info
        rate = info.master_rate
        channels = info.master_channels
        max_frames = int(max_duration_s * rate)
        with VersionWriter(out_dir, rate=rate, channels=channels, bits=master_bits(info)) as version:
            for chunk in source.decode_chunks(rate=rate, channels=channels, max_frames=max_frames):
                version.consume(chunk)
                on_progress(source.read_fraction())
                check_cancel()
            files = version.finish()
        warnings = source.warnings
    logger.debug(
        "ingested %s/%s: %.3f s, %d Hz, %d channels", info.format, info.codec, files.duration_s, rate, channels
    )
    return IngestOutcome(info, files, warnings)


def master_bits(info: SourceInfo) -> int:
    """16-bit for lossy and 16-bit sources, 24-bit when the source carries more."""
    if info.codec in _LOSSY_CODECS:
        return 16
    return 24 if info.sample_format in _WIDE_SAMPLE_FORMATS else 16
