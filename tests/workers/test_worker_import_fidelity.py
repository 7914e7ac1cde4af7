"""Faithful import through a real ``python -m workers`` process with the real handlers on the local store:
a 5.1 source, files cut short of what their headers declare, corrupt frames mid-stream, a mostly corrupt file, and
audio too short for a loudness range, all in one queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from common.audio.loudness import LoudnessMeter
from common.ids import new_id
from common.jobs import Job, JobStatus, get_job_store
from tests.support import audio_samples as samples
from tests.support.downmix import loud_multichannel, reference_stereo
from tests.support.media_files import upload_path
from tests.support.web_client import in_process_web
from tests.support.worker_process import WorkerStarter, is_finished, wait_for_job

pytestmark = pytest.mark.slow


def _speech(seconds: float, rate: int = 44100) -> np.ndarray:
    return np.concatenate(list(samples.speech_like(seconds, rate=rate)))


def _uploads(folder: Path) -> dict[str, Path]:
    """One upload per case, made here from generated audio."""
    mp3 = samples.write_audio(folder / "talk.mp3", _speech(40.0), rate=44100, kind="mp3", bitrate_kbps=64)
    m4a = samples.write_audio(folder / "talk.m4a", _speech(20.0), rate=44100, kind="m4a")
    flac = samples.write_audio(folder / "talk.flac", _speech(5.0), rate=44100, kind="flac")
    tone = samples.sine(12.0, rate=8000, channels=1)
    return {
        "surround": samples.write_audio(folder / "surround.wav", loud_multichannel(10.0, "5.1"), rate=48000),
        "cut_mp3": samples.truncate_file(mp3, folder / "cut.mp3", keep_fraction=0.3),
        "lying_wav": samples.write_wav_pcm16(folder / "liar.wav", tone, rate=8000, claimed_data_bytes=8000 * 2 * 2850),
        "corrupt_frames": samples.corrupt_spans(m4a, folder / "frames.m4a", fractions=(0.4, 0.6)),
        "mostly_corrupt": samples.corrupt_flac(flac, folder / "corrupt.flac"),
        "short": samples.write_audio(folder / "short.wav", _speech(2.0), rate=44100),
    }


async def _ingest_all(uploads: dict[str, Path], start_worker: WorkerStarter) -> dict[str, Job]:
    store = await get_job_store()
    jobs = {}
    for case, source in uploads.items():
        upload_id = new_id()
        target = upload_path(upload_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
        payload = {"assetId": new_id(), "uploadId": upload_id, "filename": source.name, "title": case}
        jobs[case], _ = await store.create_job("ingest", payload)
    worker = start_worker(handlers="workers.handlers")
    # Waiting on each job rather than a burst run's exit: on a loaded machine a job may be retried later.
    done = {case: await wait_for_job(store, job.id, is_finished, timeout_s=300) for case, job in jobs.items()}
    worker.stop()
    return done


def _completed(job: Job) -> dict[str, Any]:
    assert job.status is JobStatus.COMPLETED, job.error
    assert job.result is not None
    return job.result


async def test_damaged_and_multichannel_uploads_through_a_real_worker(
    tmp_path: Path, start_worker: WorkerStarter
) -> None:
    uploads = _uploads(tmp_path)

    done = await _ingest_all(uploads, start_worker)

    surround = _completed(done["surround"])
    assert (surround["channels"], surround["warnings"]) == (2, [])
    reference, rate, made_by = reference_stereo(uploads["surround"], tmp_path / "reference.wav")
    meter = LoudnessMeter(rate, 2)
    meter.consume(reference)
    expected = meter.finish()
    assert expected.integrated_lufs is not None
    assert abs(surround["loudness"]["integratedLufs"] - expected.integrated_lufs) < 1.0, made_by
    assert surround["loudness"]["truePeakDbtp"] < 0.0

    cut = _completed(done["cut_mp3"])
    assert cut["durationSec"] == pytest.approx(12.0, abs=1.0)
    assert [warning["code"] for warning in cut["warnings"]] == ["truncated"]
    assert "of a declared 0:40" in cut["warnings"][0]["message"]

    lying = _completed(done["lying_wav"])
    assert lying["warnings"] == [
        {
            "code": "truncated",
            "message": "The file ends early: decoding stopped at 0:12 of a declared 47:30; "
            "0:12 of audio was recovered.",
        }
    ]

    frames = _completed(done["corrupt_frames"])
    assert 18.0 < frames["durationSec"] < 20.1
    assert [warning["code"] for warning in frames["warnings"]] == ["damaged_audio"]

    failed = done["mostly_corrupt"]
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert failed.error.code == "corrupt_media"

    short = _completed(done["short"])
    assert short["loudness"]["loudnessRangeLu"] is None
    assert "shorter than the 3 s window" in short["loudness"]["unmeasured"]["loudnessRangeLu"]

    # The API shows the same warnings and reasons: the poll body and the asset route.
    async with in_process_web() as web:
        polled = (await web.get(f"/api/audio/jobs/{done['lying_wav'].id}")).json()
        lying_asset = (await web.get(f"/api/audio/assets/{lying['assetId']}")).json()
        short_asset = (await web.get(f"/api/audio/assets/{short['assetId']}")).json()
    assert polled["result"]["warnings"] == lying["warnings"]
    assert lying_asset["versions"][0]["warnings"] == lying["warnings"]
    assert short_asset["versions"][0]["loudness"]["loudnessRangeLu"] is None
    assert short_asset["versions"][0]["loudness"]["unmeasured"] == short["loudness"]["unmeasured"]
