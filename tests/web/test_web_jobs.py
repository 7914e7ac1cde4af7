"""Polling, cancelling and listing jobs, on the jobs endpoint and on every typed route."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from common.ids import new_id
from common.jobs import JobStatus, JobStore, JobType, to_poll_body
from tests.web.helpers import assert_error, job_in_status

TYPED_PREFIXES = {
    JobType.INGEST: "/api/audio/ingest",
    JobType.EDIT_PREVIEW: "/api/audio/edit/preview",
    JobType.EDIT_SAVE: "/api/audio/edit/save",
    JobType.RENDER: "/api/render",
}
POLL_BODY_KEYS = {"jobId", "type", "status", "progress", "stage", "result", "error", "createdAt", "updatedAt"}
MALFORMED_IDS = [
    "abc",
    "0" * 31,
    "0" * 33,
    "G" * 32,
    "ABCDEF0123456789ABCDEF0123456789",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%00",
    "%C3%A9t%C3%A9",
    "x" * 5000,
    "1;DROP TABLE jobs",
    "'" * 32,
]


@pytest.mark.parametrize("status", list(JobStatus))
async def test_every_poll_route_returns_the_jobs_endpoint_body(
    client: httpx.AsyncClient, store: JobStore, status: JobStatus
) -> None:
    for job_type, prefix in TYPED_PREFIXES.items():
        job = await job_in_status(store, job_type, status)
        from_jobs = await client.get(f"/api/audio/jobs/{job.id}")
        from_typed = await client.get(f"{prefix}/{job.id}")
        assert from_jobs.status_code == 200
        assert from_typed.status_code == 200
        assert from_typed.json() == from_jobs.json()
        assert from_jobs.json() == to_poll_body(job)
        assert set(from_jobs.json()) == POLL_BODY_KEYS
        assert from_jobs.json()["status"] == status.value
        assert from_jobs.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("status", [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED])
async def test_cancel_of_a_finished_job_returns_it_unchanged_on_every_route(
    client: httpx.AsyncClient, store: JobStore, status: JobStatus
) -> None:
    for job_type, prefix in TYPED_PREFIXES.items():
        job = await job_in_status(store, job_type, status)
        polled = (await client.get(f"/api/audio/jobs/{job.id}")).json()
        for path in (f"/api/audio/jobs/{job.id}", f"{prefix}/{job.id}"):
            response = await client.delete(path)
            assert response.status_code == 200
            assert response.json() == polled


async def test_cancel_of_a_live_job_cancels_it(client: httpx.AsyncClient, store: JobStore) -> None:
    for status in (JobStatus.QUEUED, JobStatus.RUNNING):
        for path_prefix in ("/api/audio/jobs", "/api/render"):
            job = await job_in_status(store, JobType.RENDER, status)
            response = await client.delete(f"{path_prefix}/{job.id}")
            assert response.status_code == 200, (status, path_prefix)
            assert response.json()["status"] == "cancelled"
            stored = await store.get_job(job.id)
            assert stored is not None
            assert stored.status is JobStatus.CANCELLED
            assert response.json() == to_poll_body(stored)
            assert (await client.get(f"/api/audio/jobs/{job.id}")).json() == response.json()


async def test_a_typed_route_does_not_know_jobs_of_another_type(client: httpx.AsyncClient, store: JobStore) -> None:
    for job_type in TYPED_PREFIXES:
        job = await job_in_status(store, job_type, JobStatus.QUEUED)
        for other_type, prefix in TYPED_PREFIXES.items():
            if other_type == job_type:
                continue
            assert_error(await client.get(f"{prefix}/{job.id}"), 404, "not_found")
            assert_error(await client.delete(f"{prefix}/{job.id}"), 404, "not_found")
        stored = await store.get_job(job.id)
        assert stored is not None
        assert stored.status is JobStatus.QUEUED, "a typed route cancelled a job of another type"


async def test_unknown_and_malformed_ids_are_404(client: httpx.AsyncClient) -> None:
    for prefix in ("/api/audio/jobs", *TYPED_PREFIXES.values()):
        for job_id in [new_id(), *MALFORMED_IDS]:
            assert_error(await client.get(f"{prefix}/{job_id}"), 404, "not_found")
            assert_error(await client.delete(f"{prefix}/{job_id}"), 404, "not_found")


async def test_unknown_query_parameters_are_refused(client: httpx.AsyncClient, store: JobStore) -> None:
    job = await job_in_status(store, JobType.INGEST, JobStatus.QUEUED)
    for path in (f"/api/audio/jobs/{job.id}", f"/api/audio/ingest/{job.id}", "/api/audio/jobs", "/healthz"):
        error = assert_error(await client.get(path, params={"verbose": "1"}), 400, "unknown_parameter", "verbose")
        assert "verbose" in error["message"]
    assert_error(await client.delete(f"/api/audio/jobs/{job.id}", params={"x": ""}), 400, "unknown_parameter")
    stored = await store.get_job(job.id)
    assert stored is not None
    assert stored.status is JobStatus.QUEUED


async def test_wrong_methods_are_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.post(f"/api/audio/jobs/{new_id()}")
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "DELETE"}
    assert_error(await client.get("/api/audio/ingest"), 405, "method_not_allowed")
    assert_error(await client.put("/api/render"), 405, "method_not_allowed")


async def test_unknown_routes_are_json_404(client: httpx.AsyncClient) -> None:
    for path in ("/api/nothing", "/api/audio", "/api/audio/jobs/a/b", "/nope"):
        assert_error(await client.get(path), 404, "not_found")


async def test_list_jobs_newest_first_with_filters(client: httpx.AsyncClient, store: JobStore) -> None:
    ingest = await job_in_status(store, JobType.INGEST, JobStatus.COMPLETED)
    await asyncio.sleep(0.005)
    render = await job_in_status(store, JobType.RENDER, JobStatus.QUEUED)
    await asyncio.sleep(0.005)
    preview = await job_in_status(store, JobType.EDIT_PREVIEW, JobStatus.CANCELLED)

    everything = await client.get("/api/audio/jobs")
    assert everything.status_code == 200
    assert [body["jobId"] for body in everything.json()["jobs"]] == [preview.id, render.id, ingest.id]
    bodies = {body["jobId"]: body for body in everything.json()["jobs"]}
    for job in (ingest, render, preview):
        fresh = await store.get_job(job.id)
        assert fresh is not None
        assert bodies[job.id] == to_poll_body(fresh)

    by_status = (await client.get("/api/audio/jobs", params={"status": "queued"})).json()["jobs"]
    assert [body["jobId"] for body in by_status] == [render.id]
    by_type = (await client.get("/api/audio/jobs", params={"type": "ingest"})).json()["jobs"]
    assert [body["jobId"] for body in by_type] == [ingest.id]
    limited = (await client.get("/api/audio/jobs", params={"limit": "2"})).json()["jobs"]
    assert [body["jobId"] for body in limited] == [preview.id, render.id]
    both = (await client.get("/api/audio/jobs", params={"type": "render", "status": "completed"})).json()["jobs"]
    assert both == []


async def test_list_jobs_rejects_bad_parameters(client: httpx.AsyncClient) -> None:
    for name, value in (
        ("status", "done"),
        ("type", "transcode"),
        ("limit", "0"),
        ("limit", "501"),
        ("limit", "-1"),
        ("limit", "ten"),
        ("limit", "1e3"),
    ):
        assert_error(await client.get("/api/audio/jobs", params={name: value}), 400, "invalid_parameter", name)


async def test_list_jobs_rejects_a_repeated_parameter(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/audio/jobs?limit=1&limit=2")
    assert_error(response, 400, "repeated_parameter", "limit")
