"""Edit lists cost what their audio costs: runs of whole-timeline level edits collapse before they run (500
normalizes make one measuring pass), and a curve is evaluated only where it changes the audio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from common.audio.editing import MasterAudio, save_edited_version
from common.audio.gains import Fade, GainCurve, RegionGain
from common.audio.program import Program, Sink
from common.edits import Cut, FadeIn, Gain, Normalize, TrimSilence, merge_edits, parse_edit_list
from common.errors import EditListError
from tests.audio.bs1770 import integrated_loudness
from tests.support.audio_samples import read_audio, sine, write_audio
from tests.support.masters import ingested_master

RATE = 16000


@pytest.fixture
def plays(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every pass over the audio (``Program.play``): measuring passes and the final writing pass."""
    counted: list[int] = []
    play = Program.play

    def counting(self: Program, sink: Sink, *args: Any, **kwargs: Any) -> int:
        counted.append(1)
        return play(self, sink, *args, **kwargs)

    monkeypatch.setattr(Program, "play", counting)
    return counted


def master(tmp_path: Path, seconds: float) -> MasterAudio:
    source = write_audio(tmp_path / "source.wav", sine(seconds, rate=RATE) * 0.03, rate=RATE, kind="wav")
    return ingested_master(source, tmp_path / "v1")


def save(tmp_path: Path, audio: MasterAudio, edits: list[dict], name: str) -> np.ndarray:
    parsed = parse_edit_list(edits, audio.frames / audio.sample_rate)
    files = save_edited_version(audio, parsed, tmp_path / name, on_progress=lambda _: None, check_cancel=lambda: None)
    return read_audio(files.master_path)[0]


def test_500_normalizes_on_a_ten_second_recording_make_one_measuring_pass(tmp_path: Path, plays: list[int]) -> None:
    audio = master(tmp_path, 10.0)
    edits = [{"op": "normalize", "targetLufs": -30.0 + index % 10} for index in range(499)]
    edits.append({"op": "normalize", "targetLufs": -23.0})

    edited = save(tmp_path, audio, edits, "many")

    assert len(plays) == 2  # one measuring pass, one writing pass
    assert integrated_loudness(edited, RATE) == pytest.approx(-23.0, abs=0.2)


def test_merging_keeps_the_last_normalize_and_sums_the_gains_after_it() -> None:
    edits = [Gain(6.0), Normalize(-20.0), Gain(3.0), Normalize(-16.0, -2.0), Gain(2.0), Gain(-5.0)]
    assert merge_edits(edits) == [(3, Normalize(-16.0, -2.0)), (5, Gain(-3.0))]
    assert merge_edits([Gain(3.0), Gain(-3.0)]) == []


def test_edits_that_change_the_timeline_or_its_shape_end_a_run() -> None:
    edits = [
        Normalize(-20.0),
        Cut(1.0, 2.0),
        Normalize(-18.0),
        Gain(4.0, start=0.0, end=1.0),
        Gain(1.0),
        FadeIn(0.5),
        Gain(2.0),
        TrimSilence(),
        Normalize(-16.0),
    ]
    assert merge_edits(edits) == list(enumerate(edits))


def test_errors_name_the_edit_as_the_client_numbered_it(tmp_path: Path) -> None:
    audio = master(tmp_path, 2.0)
    # The 0.03 sine stays under -10 dBFS throughout, which only the engine can find out.
    edits = [{"op": "gain", "db": 1}, {"op": "gain", "db": 2}, {"op": "trimSilence", "thresholdDb": -10}]
    with pytest.raises(EditListError) as caught:
        save(tmp_path, audio, edits, "silent")
    assert caught.value.field == "edits[2]"


@pytest.mark.parametrize(
    "curve",
    [
        RegionGain(6.0, 4000, 9000, 20000, 160),
        RegionGain(-12.0, 0, 9000, 20000, 160),
        RegionGain(3.0, 5000, 20000, 20000, 160),
        Fade(0, 3000, fade_in=True),
        Fade(17000, 3000, fade_in=False),
    ],
)
def test_curves_give_the_same_gains_chunk_by_chunk_as_in_one_piece(curve: GainCurve) -> None:
    """Chunks off a curve's span or on its flat part take a short cut; it must give exactly the full curve."""
    whole = curve.gains(0, 20000)
    for chunk in (1, 100, 1000, 4096):
        pieces = np.concatenate([curve.gains(start, min(chunk, 20000 - start)) for start in range(0, 20000, chunk)])
        np.testing.assert_array_equal(pieces, whole)
