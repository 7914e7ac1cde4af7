"""Non-finite numbers: the engine never measures one, the store never keeps one, and an old row holding one is
still served. Real handlers run by a worker in this process, a real SQLite store file, the web app in-process."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
from typing import Any

import numpy as np

from common.config import local_store_path
from common.ids import new_id
from common.jobs import JobStatus, get_job_store
from tests.support.audio_samples import sine, write_audio
from tests.support.media_files import upload_path
from tests.support.web_client import in_process_web
from workers.dispatch import load_handlers
from workers.settings import WorkerSettings
from workers.worker import Worker


async def run_job(job_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    store = await get_job_store()
    job, _ = await store.create_job(job_type, payload)
    await asyncio.wait_for(Worker(WorkerSettings(), load_handlers("workers.handlers")).run(burst=True), 60)
    done = await store.get_job(job.id)
    assert done is not None
    assert done.status is JobStatus.COMPLETED, done.error
    assert done.result is not None
    return done.result


async def ingested(signal: np.ndarray, kind: str = "wav") -> dict[str, Any]:
    upload_id = new_id()
    upload_path(upload_id).parent.mkdir(parents=True, exist_ok=True)
    write_audio(upload_path(upload_id), signal, rate=16000, kind=kind)
    payload = {"assetId": new_id(), "uploadId": upload_id, "filename": "talk.wav", "title": "t"}
    return await run_job("ingest", payload)


def all_finite_or_null(loudness: dict[str, Any]) -> bool:
    figures = [value for key, value in loudness.items() if key != "unmeasured"]
    return all(value is None or math.isfinite(value) for value in figures)


async def test_the_loudest_gains_allowed_measure_finite_and_the_asset_is_served() -> None:
    # Longer than the 3 s a loudness range needs, so every figure has a value.
    first = await ingested(sine(4.0, rate=16000))
    edits = [{"op": "gain", "db": 20}] * 2 + [{"op": "fadeIn", "duration": 0.5}]
    saved = await run_job("edit.save", {"assetId": first["assetId"], "version": 1, "edits": edits})
    assert saved["version"] == 2
    assert set(saved["loudness"]) == {"integratedLufs", "loudnessRangeLu", "truePeakDbtp", "rmsDb", "unmeasured"}
    assert saved["loudness"]["unmeasured"] == {}
    figures = [value for key, value in saved["loudness"].items() if key != "unmeasured"]
    assert all(isinstance(value, float) and math.isfinite(value) for value in figures)
    async with in_process_web() as web:
        asset = await web.get(f"/api/audio/assets/{first['assetId']}")
    assert asset.status_code == 200, asset.text
    assert all(all_finite_or_null(version["loudness"]) for version in asset.json()["versions"])


async def test_a_queued_list_beyond_the_gain_bound_fails_clearly() -> None:
    # Ten +40 dB gains once made the stored loudness Infinity; a job queued with them fails on the worker's check.
    first = await ingested(sine(2.0, rate=16000))
    store = await get_job_store()
    edits = [{"op": "gain", "db": 40}] * 10
    job, _ = await store.create_job("edit.save", {"assetId": first["assetId"], "version": 1, "edits": edits})
    await asyncio.wait_for(Worker(WorkerSettings(), load_handlers("workers.handlers")).run(burst=True), 60)
    done = await store.get_job(job.id)
    assert done is not None
    assert done.status is JobStatus.FAILED
    assert done.error is not None
    assert done.error.code == "invalid_edits"
    assert [version.version for version in await store.get_asset_versions(first["assetId"])] == [1]


async def test_a_float_upload_holding_infinity_and_nan_measures_finite() -> None:
    signal = sine(2.0, rate=16000)
    signal[100] = np.inf
    signal[200] = np.nan
    result = await ingested(signal, kind="wavf32")
    assert all_finite_or_null(result["loudness"])
    assert result["loudness"]["rmsDb"] is not None


def rewrite_json(statement: str, column_json: str, key_id: str, change: Any) -> None:
    """Rewrite one row's JSON column as an older version of the code could have written it (``Infinity``)."""
    with sqlite3.connect(local_store_path()) as connection:
        value = json.loads(column_json)
        change(value)
        connection.execute(statement, (json.dumps(value), key_id))


async def test_old_rows_holding_infinity_and_nan_are_served_as_null() -> None:
    result = await ingested(sine(2.0, rate=16000))
    store = await get_job_store()
    (version,) = await store.get_asset_versions(result["assetId"])
    job = await store.get_job(version.job_id)
    assert job is not None

    def poison(value: dict[str, Any]) -> None:
        value["loudness"]["rmsDb"] = math.inf
        value["loudness"]["truePeakDbtp"] = -math.inf
        value["loudness"]["integratedLufs"] = math.nan

    rewrite_json("UPDATE asset_versions SET info = ? WHERE job_id = ?", json.dumps(version.info), job.id, poison)
    rewrite_json("UPDATE jobs SET result = ? WHERE id = ?", json.dumps(job.result), job.id, poison)

    async with in_process_web() as web:
        asset = await web.get(f"/api/audio/assets/{result['assetId']}")
        polled = await web.get(f"/api/audio/jobs/{job.id}")
    assert asset.status_code == 200, asset.text
    assert polled.status_code == 200, polled.text
    for loudness in (asset.json()["versions"][0]["loudness"], polled.json()["result"]["loudness"]):
        assert loudness["rmsDb"] is None
        assert loudness["truePeakDbtp"] is None
        assert loudness["integratedLufs"] is None
        assert loudness["loudnessRangeLu"] == result["loudness"]["loudnessRangeLu"]
