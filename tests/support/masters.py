"""A version's master made as the worker makes one: a test recording ingested into a folder of its own."""

from __future__ import annotations

from pathlib import Path

from common.audio.editing import MasterAudio
from common.audio.ingest import ingest_file


def ingested_master(source: Path, folder: Path) -> MasterAudio:
    """The master ``source`` ingests to in ``folder``, known by its format only (no stored loudness)."""
    files = ingest_file(source, folder, max_duration_s=600, on_progress=lambda _: None, check_cancel=lambda: None).files
    return MasterAudio(files.master_path, files.sample_rate, files.channels, files.frames)
