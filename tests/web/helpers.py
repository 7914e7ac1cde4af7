"""Assertions and store moves shared by the web tests."""

from __future__ import annotations

from typing import Any

import httpx

from common.jobs import Job, JobError, JobStatus, JobStore


def assert_error(response: httpx.Response, status_code: int, code: str, field: str | None = None) -> dict[str, Any]:
    """The response is the API's JSON error with this status and code (and ``field``, when given)."""
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert "Traceback" not in response.text
    if field is not None:
        assert body["error"].get("field") == field, body
    return body["error"]


async def job_in_status(
    store: JobStore, job_type: str, status: JobStatus, payload: dict[str, Any] | None = None
) -> Job:
    """A new job of ``job_type`` moved to ``status`` with the store's own methods, as a worker would."""
    job, _ = await store.create_job(job_type, payload or {"assetId": "0" * 32})
    if status is JobStatus.QUEUED:
        return job
    if status is JobStatus.CANCELLED:
        cancelled = await store.cancel_job(job.id)
        assert cancelled is not None
        return cancelled
    claimed = await store.claim_next_job("test-worker", lease_s=60, job_types=[job_type])
    assert claimed is not None
    assert claimed.id == job.id
    assert claimed.lease_token is not None
    assert await store.set_progress(job.id, claimed.lease_token, 0.25)
    if status is JobStatus.COMPLETED:
        assert await store.complete_job(job.id, claimed.lease_token, {"assetId": "0" * 32, "version": 1})
    elif status is JobStatus.FAILED:
        assert await store.fail_job(job.id, claimed.lease_token, JobError("corrupt_media", "The file is damaged."))
    final = await store.get_job(job.id)
    assert final is not None
    assert final.status is status
    return final
