"""``/healthz`` stays open for liveness; its job counts and storage are shown only to a request with the ``API_TOKEN``
or a session cookie from signing in with it."""

from __future__ import annotations

import httpx
import pytest

from common.jobs import JobStatus, JobStore, JobType
from common.media_store import get_media_store
from tests.web.helpers import job_in_status
from web.session import COOKIE_NAME

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


@pytest.mark.over_http
async def test_counts_and_storage_are_shown_to_a_signed_in_browser(
    api_token: str, client: httpx.AsyncClient, store: JobStore
) -> None:
    await job_in_status(store, JobType.INGEST, JobStatus.QUEUED)
    stranger = (await client.get("/healthz")).json()
    assert "jobs" not in stranger
    assert "storage" not in stranger

    client.cookies.set(COOKIE_NAME, "v1.9999999999.forged.signature")
    forged = (await client.get("/healthz")).json()
    assert "jobs" not in forged
    assert "storage" not in forged
    client.cookies.clear()

    signed_in = await client.post("/api/session", json={"token": api_token}, headers={"Sec-Fetch-Site": "same-origin"})
    assert signed_in.status_code == 200, signed_in.text
    assert "authorization" not in {name.lower() for name in client.headers}
    body = (await client.get("/healthz")).json()
    assert body["jobs"]["queued"] == 1
    assert body["storage"]["usedBytes"] == 0
    assert body["storage"]["limitBytes"] is None

    signed_out = await client.delete("/api/session", headers={"Sec-Fetch-Site": "same-origin"})
    assert signed_out.status_code in (200, 204), signed_out.text
    assert "storage" not in (await client.get("/healthz")).json()
