"""An ``Idempotency-Key`` names one request: sent again with the same request it finds the first job (200), sent
with a different request it is refused (422 ``idempotency_key_reused``) and nothing new is queued."""

from __future__ import annotations

import httpx
import pytest

from common.errors import IdempotencyKeyReused
from common.jobs import JobStore, JobType
from tests.web.helpers import assert_error
from tests.web.test_web_edit_render import make_asset
from tests.web.test_web_ingest import stored_uploads

AUDIO = b"RIFF" + bytes(4000)


async def test_ingest_key_reused_with_another_upload_is_422(client: httpx.AsyncClient, store: JobStore) -> None:
    headers = {"Idempotency-Key": "upload-1"}
    first = await client.post("/api/audio/ingest", files={"file": ("a.wav", AUDIO)}, headers=headers)
    assert first.status_code == 202
    same = await client.post("/api/audio/ingest", files={"file": ("a.wav", AUDIO)}, headers=headers)
    assert (same.status_code, same.json()["jobId"]) == (200, first.json()["jobId"])
    for files, data in (
        ({"file": ("a.wav", AUDIO + b"x")}, {}),
        ({"file": ("b.wav", AUDIO)}, {}),
        ({"file": ("a.wav", AUDIO)}, {"title": "Another"}),
    ):
        response = await client.post("/api/audio/ingest", files=files, data=data, headers=headers)
        assert_error(response, 422, "idempotency_key_reused")
    assert len(await store.list_jobs(job_type=JobType.INGEST)) == 1
    assert len(stored_uploads()) == 1


async def test_json_routes_key_reused_with_another_body_is_422(client: httpx.AsyncClient, store: JobStore) -> None:
    versions = await make_asset(store, [60.0, 30.0])
    asset_id = versions[0].asset_id
    bodies = {
        "/api/render": ({"assetId": asset_id, "format": "wav"}, {"assetId": asset_id, "format": "flac"}),
        "/api/audio/edit/preview": (
            {"assetId": asset_id, "edits": [{"op": "gain", "db": -3}]},
            {"assetId": asset_id, "edits": [{"op": "gain", "db": -4}]},
        ),
        "/api/audio/edit/save": (
            {"assetId": asset_id, "version": 1, "edits": []},
            {"assetId": asset_id, "version": 2, "edits": []},
        ),
    }
    for path, (body, other_body) in bodies.items():
        headers = {"Idempotency-Key": f"key-{path}"}
        first = await client.post(path, json=body, headers=headers)
        assert first.status_code == 202, first.text
        # Key order is not a different request.
        reordered = dict(reversed(list(body.items())))
        same = await client.post(path, json=reordered, headers=headers)
        assert (same.status_code, same.json()["jobId"]) == (200, first.json()["jobId"])
        assert_error(await client.post(path, json=other_body, headers=headers), 422, "idempotency_key_reused")
    assert len(await store.list_jobs()) == 2 + 3


async def test_the_store_keeps_the_fingerprint_on_every_backend(store_env: str, store: JobStore) -> None:
    job, created = await store.create_job(
        JobType.RENDER, {"n": 1}, idempotency_key="k", request_fingerprint="fingerprint-a"
    )
    assert created
    again, created_again = await store.create_job(
        JobType.RENDER, {"n": 1}, idempotency_key="k", request_fingerprint="fingerprint-a"
    )
    assert (again.id, created_again) == (job.id, False)
    with pytest.raises(IdempotencyKeyReused):
        await store.create_job(JobType.RENDER, {"n": 2}, idempotency_key="k", request_fingerprint="fingerprint-b")
    # The same key for another job type is another key.
    _, other_type_created = await store.create_job(
        JobType.INGEST, {"n": 2}, idempotency_key="k", request_fingerprint="fingerprint-b"
    )
    assert other_type_created
