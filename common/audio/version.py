"""The files of one asset version, written in one streaming pass: FLAC master, loudness and waveform peaks (with
the short-term loudness over time beside them, ``common.peaks.SHORT_TERM_KEY``).

Ingest and edit-save both end here: every chunk goes to the master encoder, the loudness meter and the peaks
builder, so the audio is read once and nothing grows with its length.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from common.audio.background import BackgroundConsumer
from common.audio.encode import AudioWriter
from common.audio.loudness import Loudness, LoudnessMeter
from common.audio.peaks import PeaksBuilder
from common.audio.repair_notes import RepairNote
from common.peaks import SHORT_TERM_KEY, short_term_document

MASTER_FILENAME = "master.flac"
PEAKS_FILENAME = "peaks.json"


@dataclass(frozen=True, slots=True)
class VersionFiles:
    master_path: Path
    peaks_path: Path
    frames: int
    sample_rate: int
    channels: int
    loudness: Loudness
    # What shortenPauses took out of an edited version, in seconds.
    time_saved_s: float = 0.0
    # What its repairs did (dehum's hum, or that it found none).
    repair_notes: tuple[RepairNote, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def to_info(self) -> dict[str, Any]:
        """The measured part of an asset version's ``info`` (the caller adds URLs and provenance)."""
        return {
            "durationSec": self.duration_s,
            "frames": self.frames,
            "sampleRate": self.sample_rate,
            "channels": self.channels,
            "loudness": self.loudness.to_json(),
            "headroom": None if self.loudness.headroom is None else self.loudness.headroom.to_json(),
        }


class VersionWriter:
    """A chunk consumer (``common.audio.chunks``) of float32 chunks shaped (frames, channels); use it as a context
    manager."""

    def __init__(self, out_dir: Path, *, rate: int, channels: int, bits: int = 16) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.out_dir = out_dir
        self.rate = rate
        self.channels = channels
        # A step that fails undoes the ones before it: nobody else could close the container or stop the thread.
        with ExitStack() as undo:
            self._master = AudioWriter(
                out_dir / MASTER_FILENAME, "flac24" if bits > 16 else "flac", rate=rate, channels=channels
            )
            undo.push(self._master)
            self._meter = BackgroundConsumer(LoudnessMeter(rate, channels), "loudness")
            undo.callback(self._meter.abandon)
            self._peaks = PeaksBuilder(rate, channels)
            undo.pop_all()

    def __enter__(self) -> VersionWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        if exc_type is not None:
            self._meter.abandon()
            self._master.__exit__(exc_type)

    def consume(self, chunk: np.ndarray) -> None:
        # The master stores samples within full scale; measuring the same clipped samples keeps the reported
        # loudness, true peak and RMS those of the file actually stored.
        if len(chunk) and (chunk.max() > 1.0 or chunk.min() < -1.0):
            chunk = np.clip(chunk, -1.0, 1.0)
        self._master.consume(chunk)
        self._meter.consume(chunk)
        self._peaks.consume(chunk)

    def finish(self) -> VersionFiles:
        self._master.finish()
        loudness = self._meter.finish()
        peaks_path = self.out_dir / PEAKS_FILENAME
        peaks = self._peaks.finish()
        if loudness.short_term_lufs is not None:
            peaks[SHORT_TERM_KEY] = short_term_document(loudness.short_term_lufs)
        peaks_path.write_text(json.dumps(peaks, separators=(",", ":")))
        return VersionFiles(
            master_path=self._master.path,
            peaks_path=peaks_path,
            frames=self._master.frames_written,
            sample_rate=self.rate,
            channels=self.channels,
            loudness=loudness,
        )
