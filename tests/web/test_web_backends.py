"""The create -> poll -> cancel flow through the real web process on every store backend.

The test process and the web process are separate OS processes reaching one store (a file or a real sqld), so
this also shows the invariant: a job made by one process is seen in the same state by the other.
"""

from __future__ import annotations

import httpx
import pytest

from common.jobs import JobError, JobStatus, JobType, get_job_store, to_poll_body
from tests.support.web_server import running_web_server

pytestmark = pytest.mark.slow


async def test_create_poll_cancel_on_every_backend(store_env: str) -> None:
    store = await get_job_store()
    with running_web_server() as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            health = (await http.get("/healthz")).json()
            assert health["store"] == {"backend": store.backend, "storeId": store.store_id}
            assert store.backend == store_env.split("-")[0]

            created = await http.post(
                "/api/audio/ingest",
                files={"file": ("take.wav", b"RIFF" + bytes(5000))},
                headers={"Idempotency-Key": "take-1"},
            )
            assert created.status_code == 202, created.text
            job_id = created.json()["jobId"]
            retried = await http.post(
                "/api/audio/ingest",
                files={"file": ("take.wav", b"RIFF" + bytes(5000))},
                headers={"Idempotency-Key": "take-1"},
            )
            assert (retried.status_code, retried.json()["jobId"]) == (200, job_id)
            reused = await http.post(
                "/api/audio/ingest", files={"file": ("take.wav", b"RIFF")}, headers={"Idempotency-Key": "take-1"}
            )
            assert (reused.status_code, reused.json()["error"]["code"]) == (422, "idempotency_key_reused")

            # The worker's side, done here with the store: claim it and report progress.
            claimed = await store.claim_next_job("test-worker", lease_s=60, job_types=[JobType.INGEST])
            assert claimed is not None
            assert claimed.id == job_id
            assert claimed.lease_token is not None
            assert await store.set_progress(job_id, claimed.lease_token, 0.5)
            for path in (f"/api/audio/jobs/{job_id}", f"/api/audio/ingest/{job_id}"):
                polled = await http.get(path)
                assert polled.status_code == 200
                assert polled.json()["status"] == "running"
                assert polled.json()["progress"] == 0.5

            cancelled = await http.delete(f"/api/audio/ingest/{job_id}")
            assert cancelled.status_code == 200
            assert cancelled.json()["status"] == "cancelled"
            stored = await store.get_job(job_id)
            assert stored is not None
            assert stored.status is JobStatus.CANCELLED
            assert cancelled.json() == to_poll_body(stored)
            # The worker learns of the cancel through its fenced writes.
            assert not await store.heartbeat(job_id, claimed.lease_token, 60)
            assert not await store.fail_job(job_id, claimed.lease_token, JobError("late", "too late"))

            again = await http.delete(f"/api/audio/jobs/{job_id}")
            assert again.json() == cancelled.json()
            listed = (await http.get("/api/audio/jobs", params={"status": "cancelled"})).json()["jobs"]
            assert [body["jobId"] for body in listed] == [job_id]
