"""``GET /metrics``: parsed with the Prometheus text parser, before and after real jobs run in a real worker process
against a real web process, on every store backend; and its protection by ``API_TOKEN`` / ``METRICS_TOKEN``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from common.jobs import JobStatus, get_job_store
from tests.support.web_server import running_web_server
from tests.support.worker_process import worker_processes
from tests.web.conftest import in_process_client

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
UPLOAD = os.urandom(50_000)
SHORT_LEASE_S = 0.05


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def test_metrics_move_when_real_jobs_run(store_env: str, tmp_path: Path) -> None:
    store = await get_job_store()
    with running_web_server() as server, worker_processes(tmp_path) as start_worker:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            before = await scrape(client)
            upload = await client.post("/api/audio/ingest", files={"file": ("talk.wav", UPLOAD)})
            assert upload.status_code == 202
            polled = upload.json()
            for _ in range(2):
                assert (await client.get(f"/api/audio/jobs/{polled['jobId']}")).status_code == 200
            waited = await client.get(
                f"/api/audio/jobs/{polled['jobId']}", params={"waitForChange": polled["updatedAt"], "timeout": 0}
            )
            assert waited.status_code == 200

            noop_ids = [(await store.create_job("noop", {}))[0].id for _ in range(3)]
            failing, _ = await store.create_job("fail_permanent", {}, max_attempts=1)
            lost, _ = await store.create_job("noop", {})
            assert await store.claim_next_job("gone-worker", SHORT_LEASE_S, ["noop"]) is not None
            await asyncio.sleep(SHORT_LEASE_S * 3)
            # The burst worker first re-queues the lapsed lease, then drains every job it handles.
            assert start_worker("--burst").wait(timeout_s=60) == 0

            after = await scrape(client)

    for job_id in [*noop_ids, lost.id]:
        job = await store.get_job(job_id)
        assert job is not None
        assert job.status is JobStatus.COMPLETED
    failed = await store.get_job(failing.id)
    assert failed is not None
    assert failed.error is not None

    assert value(after, "audioprep_jobs", type="noop", status="completed") == 4
    assert value(after, "audioprep_jobs", type="fail_permanent", status="failed") == 1
    assert (
        value(after, "audioprep_queue_depth", type="ingest")
        == value(before, "audioprep_queue_depth", type="ingest") + 1
    )
    assert value(after, "audioprep_queue_oldest_age_seconds", type="ingest") >= 0
    assert value(after, "audioprep_queue_depth", type="noop") == 0
    assert value(after, "audioprep_failed_jobs", type="fail_permanent", code=failed.error.code) == 1
    assert value(after, "audioprep_job_duration_seconds_count", type="noop", outcome="completed") == 4
    assert value(after, "audioprep_job_duration_seconds_bucket", type="noop", outcome="completed", le="+Inf") == 4
    assert value(after, "audioprep_job_duration_seconds_count", type="fail_permanent", outcome="failed") == 1
    assert value(after, "audioprep_leases_expired_total") == value(before, "audioprep_leases_expired_total") + 1
    assert value(after, "audioprep_uploads_total") == value(before, "audioprep_uploads_total") + 1
    assert value(after, "audioprep_upload_bytes_total") == value(before, "audioprep_upload_bytes_total") + len(UPLOAD)
    plain_polls = value(after, "audioprep_poll_requests_total", wait="false")
    assert plain_polls == value(before, "audioprep_poll_requests_total", wait="false") + 2
    long_polls = value(after, "audioprep_poll_requests_total", wait="true")
    assert long_polls == value(before, "audioprep_poll_requests_total", wait="true") + 1
    assert value(after, "process_resident_memory_bytes") > 0


async def test_every_known_type_and_status_is_reported_from_an_empty_store() -> None:
    async with in_process_client() as client:
        samples = await scrape(client)
    assert value(samples, "audioprep_jobs", type="render", status="queued") == 0
    assert ("audioprep_jobs", (("status", "cancelled"), ("type", "edit.save"))) in samples
    assert ("audioprep_job_duration_seconds_bucket", (("le", "+Inf"), ("outcome", "failed"), ("type", "ingest"))) in (
        samples
    )


@pytest.mark.parametrize(
    ("environment", "accepted", "refused"),
    [
        ({"API_TOKEN": "api-secret"}, ["api-secret"], [None, "wrong"]),
        ({"METRICS_TOKEN": "scrape-secret"}, ["scrape-secret"], [None, "api-secret"]),
        ({"API_TOKEN": "api-secret", "METRICS_TOKEN": "scrape-secret"}, ["api-secret", "scrape-secret"], [None, "x"]),
        ({}, [None], []),
    ],
)
async def test_metrics_are_protected_like_the_api_or_by_their_own_token(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], accepted: list[str | None], refused: list[str | None]
) -> None:
    for name, token in environment.items():
        monkeypatch.setenv(name, token)

    def auth(token: str | None) -> dict[str, str]:
        return {} if token is None else {"Authorization": f"Bearer {token}"}

    async with in_process_client() as client:
        for token in accepted:
            assert (await client.get("/metrics", headers=auth(token))).status_code == 200
        for token in refused:
            response = await client.get("/metrics", headers=auth(token))
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "unauthorized"
