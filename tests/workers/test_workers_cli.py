"""``python -m workers jobs ...`` as an operator runs it: a real subprocess on a real local store file and on a real
sqld, reaching the store through the same environment as every other process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from common.config import PROJECT_ROOT
from common.jobs import JobError, JobStatus, JobStore, get_job_store
from common.media import media_url, render_run_prefix, upload_key
from common.media_store import get_media_store

BACKENDS = pytest.mark.parametrize("store_env", ["local", "turso-http"], indirect=True)
SHORT_LEASE_S = 0.05


def jobs_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers", "jobs", *args],
        cwd=PROJECT_ROOT,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def failed_job(store: JobStore) -> str:
    job, _ = await store.create_job("render", {"assetId": "a" * 32, "tags": {"title": "Ünïcode"}}, max_attempts=2)
    claimed = await store.claim_next_job("worker-a", 30, ["render"])
    assert claimed is not None
    assert await store.fail_job(job.id, claimed.lease_token or "", JobError("corrupt_media", "cannot decode"))
    return job.id


@BACKENDS
async def test_show_prints_the_whole_job_and_retry_requeues_it(store_env: str) -> None:
    store = await get_job_store()
    job_id = await failed_job(store)

    shown = jobs_cli("show", job_id)
    assert shown.returncode == 0, shown.stderr
    job = json.loads(shown.stdout)
    assert job["id"] == job_id
    assert job["status"] == "failed"
    assert job["payload"] == {"assetId": "a" * 32, "tags": {"title": "Ünïcode"}}
    assert job["error"] == {"code": "corrupt_media", "message": "cannot decode"}
    assert (job["attempts"], job["max_attempts"]) == (1, 2)
    assert job["finished_at"].endswith("Z")

    listed = jobs_cli("list", "--status", "failed")
    assert listed.returncode == 0, listed.stderr
    assert job_id in listed.stdout
    assert "error=corrupt_media" in listed.stdout
    assert jobs_cli("list", "--status", "queued").stdout.strip() == ""

    retried = jobs_cli("retry", job_id)
    assert retried.returncode == 0, retried.stderr
    after = await store.get_job(job_id)
    assert after is not None
    assert (after.status, after.attempts, after.error) == (JobStatus.QUEUED, 0, None)

    again = jobs_cli("retry", job_id)
    assert again.returncode == 1
    assert "only a failed job can be retried" in again.stderr


@BACKENDS
async def test_cancel_requeue_expired_and_prune(store_env: str) -> None:
    store = await get_job_store()
    media = await get_media_store()
    queued, _ = await store.create_job("ingest", {"uploadId": "1" * 32})
    await media.put_stream(upload_key("1" * 32), _chunks(b"upload"))
    cancelled = jobs_cli("cancel", queued.id)
    assert cancelled.returncode == 0, cancelled.stderr
    job = await store.get_job(queued.id)
    assert job is not None
    assert job.status is JobStatus.CANCELLED
    assert jobs_cli("cancel", queued.id).returncode == 1
    assert [info.key async for info in media.list_objects("")] == []

    rendered, _ = await store.create_job("render", {})
    run = await store.claim_next_job("worker-a", 30, ["render"])
    assert run is not None
    output = f"{render_run_prefix(rendered.id, run.lease_token or '')}/take.mp3"
    await media.put_stream(output, _chunks(b"mp3"))
    assert await store.complete_job(rendered.id, run.lease_token or "", {"url": media_url(output)})

    lost, _ = await store.create_job("render", {})
    assert await store.claim_next_job("gone-worker", SHORT_LEASE_S, ["render"]) is not None
    await asyncio.sleep(SHORT_LEASE_S * 3)
    requeued = jobs_cli("requeue-expired")
    assert requeued.returncode == 0, requeued.stderr
    assert requeued.stdout.startswith("1 job(s)")
    job = await store.get_job(lost.id)
    assert job is not None
    assert job.status is JobStatus.QUEUED

    kept = jobs_cli("prune", "--older-than-days", "1")
    assert (kept.returncode, kept.stdout.split()[0]) == (0, "0")
    pruned = jobs_cli("prune", "--older-than-days", "0")
    assert (pruned.returncode, pruned.stdout.split()[0]) == (0, "2")
    assert await store.get_job(queued.id) is None
    assert await store.get_job(rendered.id) is None
    assert [info.key async for info in media.list_objects("")] == []
    assert await store.get_job(lost.id) is not None


@BACKENDS
async def test_unknown_jobs_are_exit_1_and_bad_usage_exit_2(store_env: str) -> None:
    for command in ("show", "retry", "cancel"):
        result = jobs_cli(command, "0" * 32)
        assert result.returncode == 1
        assert "no job with id" in result.stderr
    for usage in (
        ["frobnicate"],
        [],
        ["show"],
        ["list", "--limit", "0"],
        ["prune"],
        ["prune", "--older-than-days", "x"],
    ):
        assert jobs_cli(*usage).returncode == 2


async def test_a_misconfigured_store_is_exit_2_and_an_unreachable_one_exit_3() -> None:
    misconfigured = jobs_cli("list", env={**os.environ, "JOB_STORE_BACKEND": "turso"})
    assert misconfigured.returncode == 2
    assert "TURSO_DATABASE_URL" in misconfigured.stderr
    unreachable = jobs_cli(
        "list", env={**os.environ, "JOB_STORE_BACKEND": "turso", "TURSO_DATABASE_URL": "http://127.0.0.1:9"}
    )
    assert unreachable.returncode == 3
    assert "store_unavailable" in unreachable.stderr
