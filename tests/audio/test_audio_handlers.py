"""The job handlers called directly with a real local store and media tree, and a unit-test job context."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pytest

from common.assets import NewAssetVersion
from common.errors import AppError, EditListError, JobCancelled, MediaError
from common.ids import new_id
from common.jobs import Job, get_job_store
from tests.support.audio_samples import read_audio, speech_like, write_audio, write_text
from tests.support.media_files import MEDIA_URL_PREFIX, resolve_media_url_path, upload_path
from workers.handlers import HANDLERS

VERSION_RESULT_KEYS = {
    "assetId", "version", "durationSec", "sampleRate", "channels", "format", "codec", "loudness", "audioUrl",
    "peaksUrl", "warnings",
}  # fmt: skip
RENDER_RESULT_KEYS = {
    "assetId", "version", "format", "url", "filename", "durationSec", "sampleRate", "channels", "bitrate", "loudness",
    "preset", "targets", "targetsMet", "compliance",
}  # fmt: skip
LOUDNESS_KEYS = {"integratedLufs", "loudnessRangeLu", "truePeakDbtp", "rmsDb", "unmeasured"}

P = ParamSpec("P")
T = TypeVar("T")


class FakeContext:
    """Records progress; raises ``JobCancelled`` from the ``cancel_after``-th cancellation check on."""

    def __init__(self, job: Job, cancel_after: int | None = None) -> None:
        self._job = job
        self.progress: list[float] = []
        self.stages: list[str] = []
        self.checks = 0
        self.cancel_after = cancel_after

    @property
    def job(self) -> Job:
        return self._job

    async def run_in_thread(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    def report_progress(self, fraction: float) -> None:
        self.progress.append(fraction)

    def report_stage(self, stage: str) -> None:
        self.stages.append(stage)

    def raise_if_cancelled(self) -> None:
        self.checks += 1
        if self.cancel_after is not None and self.checks >= self.cancel_after:
            raise JobCancelled("the job was cancelled")


async def _run(job_type: str, payload: dict[str, Any], cancel_after: int | None = None) -> tuple[dict, FakeContext]:
    """Claim a job, run its handler and complete it with the handler's outcome, as the worker does."""
    store = await get_job_store()
    await store.create_job(job_type, payload)
    job = await store.claim_next_job("test", 60, [job_type])
    assert job is not None
    assert job.lease_token is not None
    ctx = FakeContext(job, cancel_after)
    outcome = await HANDLERS[job_type](job, ctx)
    if isinstance(outcome, NewAssetVersion):
        recorded = await store.complete_job_with_asset_version(
            job.id, job.lease_token, outcome.result(), outcome.asset_id, outcome.info
        )
        assert recorded is not None
    else:
        assert await store.complete_job(job.id, job.lease_token, outcome)
    done = await store.get_job(job.id)
    assert done is not None
    assert done.result is not None
    return done.result, ctx


def _file(url: str) -> Path:
    assert url.startswith(MEDIA_URL_PREFIX)
    path = resolve_media_url_path(url.removeprefix(MEDIA_URL_PREFIX))
    assert path is not None
    assert path.is_file()
    return path


def _upload(seconds: float = 6.0) -> str:
    upload_id = new_id()
    path = upload_path(upload_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    signal = np.concatenate(list(speech_like(seconds, rate=44100, channels=2, peak_db=-6.0)))
    write_audio(path, signal, rate=44100, kind="mp3", bitrate_kbps=96)
    return upload_id


async def _ingested(asset_id: str, seconds: float = 6.0) -> dict:
    payload = {"assetId": asset_id, "uploadId": _upload(seconds), "filename": "talk.mp3", "title": "My talk"}
    result, ctx = await _run("ingest", payload)
    assert ctx.progress
    assert ctx.checks > 0
    return result


def test_every_job_type_has_a_handler() -> None:
    assert set(HANDLERS) == {"ingest", "edit.preview", "edit.save", "render"}


async def test_ingest_records_version_one() -> None:
    asset_id = new_id()

    result = await _ingested(asset_id)

    assert set(result) == VERSION_RESULT_KEYS
    assert set(result["loudness"]) == LOUDNESS_KEYS
    assert result["warnings"] == []
    assert (result["assetId"], result["version"], result["format"], result["codec"]) == (asset_id, 1, "mp3", "mp3float")
    assert result["durationSec"] == pytest.approx(6.0, abs=1e-9)
    decoded, rate = read_audio(_file(result["audioUrl"]))
    assert (rate, decoded.shape[1], len(decoded)) == (44100, 2, 6 * 44100)
    assert _file(result["peaksUrl"]).read_text().startswith("{")
    versions = await (await get_job_store()).get_asset_versions(asset_id)
    assert [version.version for version in versions] == [1]
    assert versions[0].info["title"] == "My talk"


async def test_ingest_refuses_a_bad_upload_with_its_code() -> None:
    upload_id = new_id()
    upload_path(upload_id).parent.mkdir(parents=True, exist_ok=True)
    write_text(upload_path(upload_id))

    with pytest.raises(MediaError) as caught:
        await _run("ingest", {"assetId": new_id(), "uploadId": upload_id, "filename": "a.mp3", "title": "a"})

    assert caught.value.code == "unsupported_media"


async def test_edit_save_adds_a_version_and_keeps_the_old_one() -> None:
    asset_id = new_id()
    await _ingested(asset_id)
    edits = [{"op": "cut", "start": 1.0, "end": 2.5}, {"op": "fadeIn", "duration": 0.5}]

    result, _ = await _run("edit.save", {"assetId": asset_id, "version": 1, "edits": edits})

    assert set(result) == VERSION_RESULT_KEYS | {"timeSavedSec", "repairNotes"}
    assert result["timeSavedSec"] == 0.0
    assert result["repairNotes"] == []
    assert result["version"] == 2
    assert result["durationSec"] == pytest.approx(4.5, abs=1e-9)
    versions = await (await get_job_store()).get_asset_versions(asset_id)
    assert [version.version for version in versions] == [1, 2]
    assert versions[1].info["baseVersion"] == 1
    assert versions[1].info["edits"] == edits
    assert versions[1].info["title"] == "My talk"
    assert _file(versions[0].info["audioUrl"]) != _file(versions[1].info["audioUrl"])
    assert len(read_audio(_file(result["audioUrl"]))[0]) == round(4.5 * 44100)


async def test_edits_are_checked_again_against_the_real_duration() -> None:
    asset_id = new_id()
    await _ingested(asset_id, seconds=3.0)

    with pytest.raises(EditListError) as caught:
        await _run("edit.save", {"assetId": asset_id, "version": 1, "edits": [{"op": "cut", "start": 1, "end": 4}]})

    assert caught.value.field == "edits[0].end"
    assert len(await (await get_job_store()).get_asset_versions(asset_id)) == 1


async def test_edit_preview_writes_a_preview_and_records_nothing() -> None:
    asset_id = new_id()
    await _ingested(asset_id)

    result, _ = await _run(
        "edit.preview", {"assetId": asset_id, "version": 1, "edits": [{"op": "trim", "start": 1, "end": 4}]}
    )

    assert set(result) == {
        "assetId", "version", "previewUrl", "durationSec", "format", "loudness", "mode", "segments",
        "timelineDurationSec", "timeSavedSec", "repairNotes",
    }  # fmt: skip
    # A job queued before the preview field existed is previewed whole, as it asked.
    assert result["mode"] == "whole"
    assert result["segments"] == [{"start": 0.0, "end": 3.0, "previewStart": 0.0, "sourceStart": 1.0, "sourceEnd": 4.0}]
    assert result["timelineDurationSec"] == 3.0
    assert result["timeSavedSec"] == 0.0
    assert result["previewUrl"].startswith(MEDIA_URL_PREFIX + "previews/")
    assert abs(len(read_audio(_file(result["previewUrl"]))[0]) - 3 * 44100) <= 1152
    assert len(await (await get_job_store()).get_asset_versions(asset_id)) == 1


async def test_render_writes_a_named_file_and_reports_measured_loudness() -> None:
    asset_id = new_id()
    await _ingested(asset_id)
    payload = {
        "assetId": asset_id, "version": 1, "format": "mp3", "preset": "podcast", "bitrate": None,
        "tags": {"title": "Episode 3"}, "targets": None,
    }  # fmt: skip

    result, _ = await _run("render", payload)

    assert set(result) == RENDER_RESULT_KEYS
    assert result["filename"] == "Episode-3.mp3"
    assert _file(result["url"]).name == "Episode-3.mp3"
    assert (result["sampleRate"], result["bitrate"], result["preset"]) == (44100, 128, "podcast")
    assert result["targets"]["integratedLufs"] == -16.0
    assert result["loudness"]["integratedLufs"] == pytest.approx(-16.0, abs=0.5)
    assert result["targetsMet"] is True
    checks = {check["name"]: check for check in result["compliance"]["checks"]}
    assert result["compliance"]["passed"] is True
    assert set(checks) == {
        "integratedLoudness", "loudnessRange", "truePeak", "rms", "noiseFloor", "sampleRate", "channels",
    }  # fmt: skip
    assert checks["integratedLoudness"] == {
        "name": "integratedLoudness", "unit": "LUFS", "measured": result["loudness"]["integratedLufs"],
        "min": -16.5, "max": -15.5, "passed": True,
    }  # fmt: skip
    assert checks["truePeak"]["max"] == -1.0
    assert checks["truePeak"]["passed"] is True
    # The podcast preset sets no RMS window or noise floor: measured, judged by nothing.
    assert checks["rms"]["passed"] is None
    assert checks["noiseFloor"]["passed"] is None
    assert checks["noiseFloor"]["measured"] < checks["rms"]["measured"]


async def test_versions_record_their_size_and_renders_follow_a_rename() -> None:
    asset_id = new_id()
    result = await _ingested(asset_id)
    store = await get_job_store()
    (version,) = await store.get_asset_versions(asset_id)
    expected_bytes = _file(result["audioUrl"]).stat().st_size + _file(result["peaksUrl"]).stat().st_size
    assert version.info["sizeBytes"] == expected_bytes
    assert await store.rename_asset(asset_id, "Renamed talk") is not None

    rendered, _ = await _run("render", {"assetId": asset_id, "version": 1, "format": "wav"})

    assert rendered["filename"] == "Renamed-talk.wav"


async def test_cancellation_propagates_and_records_no_version() -> None:
    asset_id = new_id()
    payload = {"assetId": asset_id, "uploadId": _upload(30.0), "filename": "long.mp3", "title": "Long"}

    with pytest.raises(JobCancelled):
        await _run("ingest", payload, cancel_after=3)

    assert await (await get_job_store()).get_asset_versions(asset_id) == []


async def test_a_missing_version_is_a_permanent_error() -> None:
    asset_id = new_id()
    await _ingested(asset_id, seconds=1.0)

    with pytest.raises(AppError) as caught:
        await _run("render", {"assetId": asset_id, "version": 7, "format": "wav"})

    assert caught.value.code == "version_not_found"
