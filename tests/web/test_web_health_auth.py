"""``/healthz`` stays open for liveness; its job counts are shown only to a request with the ``API_TOKEN``."""

from __future__ import annotations

import httpx
import pytest

from common.jobs import JobStatus, JobStore, JobType
from common.media_store import get_media_store
from tests.web.helpers import job_in_status

TOKEN = "health-secret"


@pytest.fixture
def api_token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("API_TOKEN", TOKEN)
    return TOKEN


# ``api_token`` comes before ``client`` so the app or server the client starts reads the token.
async def test_counts_need_the_token_and_liveness_does_not(
    api_token: str, client: httpx.AsyncClient, store: JobStore
) -> None:
    await job_in_status(store, JobType.INGEST, JobStatus.QUEUED)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = await client.get("/healthz", headers=headers)
        assert response.status_code == 200
        body = response.json()
        media = await get_media_store()
        assert body == {
            "status": "ok",
            "store": {"backend": store.backend, "storeId": store.store_id},
            "mediaStore": {"backend": "local", "storeId": media.store_id},
        }
    authorized = await client.get("/healthz", headers={"Authorization": f"Bearer {api_token}"})
    assert authorized.status_code == 200
    assert authorized.json()["jobs"]["queued"] == 1
    assert authorized.json()["jobsByType"] == {"ingest": {"queued": 1}}
