"""``VersionWriter``: the files of a version, and nothing left open when its set-up fails half-way."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from common.audio import version
from common.audio.encode import AudioWriter
from common.audio.version import VersionWriter
from tests.support.audio_samples import read_audio, speech_like


def test_a_version_is_its_master_loudness_and_peaks(tmp_path: Path) -> None:
    signal = np.concatenate(list(speech_like(2.0, rate=44100, channels=2, peak_db=-6.0)))
    with VersionWriter(tmp_path, rate=44100, channels=2) as writer:
        writer.consume(signal)
        files = writer.finish()
    assert files.frames == len(signal)
    decoded, rate = read_audio(files.master_path)
    assert (decoded.shape, rate) == (signal.shape, 44100)
    assert json.loads(files.peaks_path.read_text())["channels"] == 2
    assert files.loudness.integrated_lufs is not None
    assert files.loudness.integrated_lufs < 0


class RecordingAudioWriter(AudioWriter):
    """The real writer, remembering whether it was closed as failed."""

    opened: ClassVar[list[RecordingAudioWriter]] = []

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.closed_as_failed = False
        RecordingAudioWriter.opened.append(self)

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        super().__exit__(exc_type, *exc_info)
        self.closed_as_failed = exc_type is not None


def failing_peaks_builder(sample_rate: int, channels: int) -> None:
    raise MemoryError("no room for the peaks")


def test_a_failed_set_up_closes_the_master_and_stops_the_meter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    RecordingAudioWriter.opened.clear()
    monkeypatch.setattr(version, "AudioWriter", RecordingAudioWriter)
    monkeypatch.setattr(version, "PeaksBuilder", failing_peaks_builder)
    threads_before = set(threading.enumerate())
    with pytest.raises(MemoryError):
        VersionWriter(tmp_path, rate=44100, channels=1)
    [master] = RecordingAudioWriter.opened
    assert master.closed_as_failed
    assert not [thread for thread in threading.enumerate() if thread not in threads_before and thread.is_alive()]
