"""Through a real ``python -m workers`` process: a context preview of an edit list with repairs plays excerpts
around its edit points (not the whole recording), trimSilence included; a context preview reads the local store's
master where it lies instead of copying it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from common.edits import PREVIEW_CONTEXT_S
from common.ids import new_id
from common.jobs import AssetVersion, JobStatus, get_job_store
from common.media import media_url
from common.media_store import get_media_store
from tests.support.audio_samples import read_audio, write_audio
from tests.support.ingest import ingest_recording
from tests.support.speech_signals import hum, speech_layout, white_noise
from tests.support.worker_process import WorkerStarter, is_finished, wait_for_job
from workers.payloads import fetch_master

RATE = 16000
REPAIRS = [{"op": "highpass"}, {"op": "dehum"}, {"op": "denoise"}, {"op": "deess"}, {"op": "level"}]

pytestmark = pytest.mark.slow


def _recording(path: Path) -> Path:
    """About 150 s of two speakers over hum and noise, with 4 s of digital silence at each end."""
    rng = np.random.default_rng(8)
    phrases = [(float(rng.uniform(2.0, 5.0)), -18.0 if index % 2 == 0 else -30.0) for index in range(40)]
    pauses = [4.0, *(float(rng.uniform(0.3, 1.5)) for _ in phrases[1:]), 4.0]
    layout = speech_layout(RATE, phrases, pauses)
    frames = len(layout.signal)
    noisy = layout.signal + hum(frames, RATE, 50, -45.0) + white_noise(frames, -62.0)
    start, end = layout.pauses[0][1], layout.pauses[-1][0]
    noisy[:start] = 0.0
    noisy[end:] = 0.0
    return write_audio(path, noisy[:, np.newaxis].astype(np.float32), rate=RATE, kind="wav24")


async def test_a_repair_lists_context_preview_runs_as_a_context_preview(
    tmp_path: Path, start_worker: WorkerStarter
) -> None:
    store = await get_job_store()
    worker = start_worker(handlers="workers.handlers")
    ingested = await ingest_recording(_recording(tmp_path / "talk.wav"))
    asset_id, duration = ingested["assetId"], ingested["durationSec"]
    assert duration > 120

    cut = [{"op": "cut", "start": 60, "end": 70}]
    jobs = {}
    for name, edits in (("cut", [*REPAIRS, *cut]), ("trim", [*REPAIRS, {"op": "trimSilence"}, *cut])):
        job, _ = await store.create_job(
            "edit.preview", {"assetId": asset_id, "version": 1, "edits": edits, "preview": "context"}
        )
        jobs[name] = job.id
    results = {}
    for name, job_id in jobs.items():
        previewed = await wait_for_job(store, job_id, is_finished, timeout_s=120)
        assert previewed.status is JobStatus.COMPLETED, (name, previewed.error, worker.log())
        assert previewed.result is not None
        results[name] = previewed.result

    cut_preview = results["cut"]
    assert cut_preview["mode"] == "context"
    assert cut_preview["timelineDurationSec"] == pytest.approx(duration - 10, abs=0.01)
    assert cut_preview["segments"] == [
        {
            "start": pytest.approx(60 - PREVIEW_CONTEXT_S),
            "end": pytest.approx(60 + PREVIEW_CONTEXT_S),
            "previewStart": 0,
            # What the page plays as this excerpt's "before": the cut 60-70 s included.
            "sourceStart": pytest.approx(60 - PREVIEW_CONTEXT_S),
            "sourceEnd": pytest.approx(70 + PREVIEW_CONTEXT_S),
        }
    ]
    assert cut_preview["durationSec"] == pytest.approx(2 * PREVIEW_CONTEXT_S, abs=0.05)
    # The trimmed ends are edit points too: the opening and closing excerpts beside the cut's join.
    trimmed = results["trim"]
    assert trimmed["mode"] == "context"
    assert trimmed["timelineDurationSec"] == pytest.approx(duration - 10 - 8, abs=0.1)
    starts = [segment["start"] for segment in trimmed["segments"]]
    assert starts == pytest.approx(
        [0, 60 - PREVIEW_CONTEXT_S, trimmed["timelineDurationSec"] - PREVIEW_CONTEXT_S], abs=0.1
    )
    key = cut_preview["previewUrl"].split("/media/", 1)[1]
    audio, _ = read_audio(await (await get_media_store()).local_path(key) or Path("missing"))
    assert np.sqrt(np.mean(audio.astype(np.float64) ** 2)) > 0.01


async def test_a_context_preview_reads_the_local_stores_master_in_place(tmp_path: Path) -> None:
    media = await get_media_store()
    key = f"assets/{new_id()}/v1/{new_id()}/master.flac"
    await media.put_file(key, write_audio(tmp_path / "master.flac", np.zeros((RATE, 1), np.float32), rate=RATE))
    version = AssetVersion(
        new_id(),
        1,
        new_id(),
        datetime.now(UTC),
        {"audioUrl": media_url(key), "sampleRate": RATE, "channels": 1, "frames": RATE},
    )

    in_place = await fetch_master(version, tmp_path / "scratch", in_place=True)

    assert in_place.path == await media.local_path(key)
    assert not (tmp_path / "scratch").exists()
    copied = await fetch_master(version, tmp_path / "scratch")
    assert copied.path.parent == tmp_path / "scratch" / "master"
    assert copied.path.read_bytes() == in_place.path.read_bytes()
