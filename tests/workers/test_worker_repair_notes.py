"""Through a real ``python -m workers`` process: a dehum that finds no mains hum says so in the ``edit.save`` and
``edit.preview`` results (``repairNotes``, code ``no_hum_found``), and one that finds hum says what it removed; a
denoise and a level say what they learned and applied, or, on a silent recording, that they left it unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from common.jobs import JobStatus, get_job_store
from tests.support.audio_samples import write_audio
from tests.support.ingest import ingest_recording
from tests.support.speech_signals import hum, speech_layout, white_noise
from tests.support.worker_process import WorkerStarter, is_finished, wait_for_job

RATE = 44100
EDITS = [{"op": "highpass"}, {"op": "dehum"}, {"op": "denoise"}, {"op": "level"}]

pytestmark = pytest.mark.slow


def _talk(path: Path, hum_hz: int | None) -> Path:
    layout = speech_layout(RATE, [(2.0, -20.0)] * 3, [0.5, 1.0, 1.0, 0.5])
    frames = len(layout.signal)
    signal = layout.signal + white_noise(frames, -60.0)
    if hum_hz is not None:
        signal = signal + hum(frames, RATE, hum_hz, -45.0)
    return write_audio(path, signal[:, np.newaxis].astype(np.float32), rate=RATE, kind="wav24")


async def _run(job_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    store = await get_job_store()
    job, _ = await store.create_job(job_type, payload)
    done = await wait_for_job(store, job.id, is_finished, timeout_s=120)
    assert done.status is JobStatus.COMPLETED, done.error
    assert done.result is not None
    return done.result


async def _notes_after_save_and_preview(source: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    asset_id = (await ingest_recording(source))["assetId"]
    payload = {"assetId": asset_id, "version": 1, "edits": EDITS}
    saved = await _run("edit.save", payload)
    previewed = await _run("edit.preview", {**payload, "preview": "context"})
    # The version remembers it too, for the page to show beside the recording.
    versions = await (await get_job_store()).get_asset_versions(asset_id)
    assert versions[-1].info["repairNotes"] == saved["repairNotes"]
    return saved["repairNotes"], previewed["repairNotes"]


async def test_dehum_without_hum_says_it_found_none(tmp_path: Path, start_worker: WorkerStarter) -> None:
    start_worker(handlers="workers.handlers")

    saved, previewed = await _notes_after_save_and_preview(_talk(tmp_path / "quiet.wav", None))

    assert saved == previewed
    assert [(note["op"], note["code"]) for note in saved] == [
        ("dehum", "no_hum_found"),
        ("denoise", "noise_reduced"),
        ("level", "speech_leveled"),
    ]
    assert "No 50 Hz or 60 Hz mains hum was found" in saved[0]["message"]
    # 3 s of pauses in 9 s: the profile is the noise of the pauses, not the talk's quietest speech.
    assert "De-noise learned the background noise" in saved[1]["message"]
    assert "(-60 dBFS RMS)" in saved[1]["message"]
    assert "Level brought speech to its mean level" in saved[2]["message"]


@pytest.mark.parametrize("mains", [50, 60])
async def test_dehum_with_hum_says_what_it_removed(tmp_path: Path, start_worker: WorkerStarter, mains: int) -> None:
    start_worker(handlers="workers.handlers")

    saved, previewed = await _notes_after_save_and_preview(_talk(tmp_path / "humming.wav", mains))

    assert saved == previewed
    assert [(note["op"], note["code"]) for note in saved] == [
        ("dehum", "hum_removed"),
        ("denoise", "noise_reduced"),
        ("level", "speech_leveled"),
    ]
    assert f"removed {mains} Hz mains hum (found in the recording)" in saved[0]["message"]


async def test_a_silent_recording_is_left_unchanged_and_each_repair_says_so(
    tmp_path: Path, start_worker: WorkerStarter
) -> None:
    start_worker(handlers="workers.handlers")
    silence = np.zeros((3 * RATE, 1), dtype=np.float32)

    saved, previewed = await _notes_after_save_and_preview(write_audio(tmp_path / "silent.wav", silence, rate=RATE))

    assert saved == previewed
    assert [(note["op"], note["code"]) for note in saved] == [
        ("dehum", "no_hum_found"),
        ("denoise", "no_noise_profile"),
        ("level", "no_speech_found"),
    ]
    assert all("unchanged" in note["message"] for note in saved)
