"""One media store for every process of a job store: the id is recorded once in the job store (on every job store
backend), and a process on another media store is refused at start-up, by the web and by the worker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.config import PROJECT_ROOT
from common.errors import ConfigurationError
from common.jobs import JobStore, get_job_store
from common.media_store import check_media_identity, close_media_store, get_media_store
from common.media_store.local import LocalMediaStore
from tests.support.s3_media import new_bucket, use_s3
from tests.support.seaweedfs import SeaweedFSServer


def run_worker_burst(environment: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """A real ``python -m workers --burst`` with ``environment``: it drains nothing and exits."""
    return subprocess.run(
        [sys.executable, "-m", "workers", "--burst"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
async def job_store(store_env: str) -> JobStore:
    return await get_job_store()


async def test_the_first_media_store_id_is_recorded_and_kept(job_store: JobStore) -> None:
    assert await job_store.record_media_store_id("a" * 32) == "a" * 32
    assert await job_store.record_media_store_id("a" * 32) == "a" * 32
    assert await job_store.record_media_store_id("b" * 32) == "a" * 32


async def test_the_same_media_store_passes_every_time(job_store: JobStore) -> None:
    media_store = await get_media_store()
    await check_media_identity(job_store, media_store)
    await close_media_store()
    await check_media_identity(job_store, await get_media_store())


async def test_another_media_root_is_refused(job_store: JobStore, tmp_path: Path) -> None:
    await check_media_identity(job_store, await get_media_store())
    other = await LocalMediaStore.open(tmp_path / "other-media")
    with pytest.raises(ConfigurationError, match="MEDIA_ROOT") as raised:
        await check_media_identity(job_store, other)
    assert raised.value.code == "media_store_mismatch"
    assert str(tmp_path / "other-media") in raised.value.message


async def test_s3_after_local_is_refused_naming_the_bucket(
    seaweedfs: SeaweedFSServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    job_store = await get_job_store()
    await check_media_identity(job_store, await get_media_store())
    await close_media_store()
    bucket = new_bucket(seaweedfs)
    use_s3(monkeypatch, seaweedfs, bucket)
    with pytest.raises(ConfigurationError, match="S3_BUCKET") as raised:
        await check_media_identity(job_store, await get_media_store())
    assert f"S3_BUCKET={bucket}" in raised.value.message
    assert "MEDIA_BACKEND" in raised.value.message


async def test_a_worker_on_another_media_store_refuses_to_start(tmp_path: Path) -> None:
    await check_media_identity(await get_job_store(), await get_media_store())
    environment = {**os.environ, "MEDIA_ROOT": str(tmp_path / "worker-media")}
    finished = await asyncio.to_thread(run_worker_burst, environment)
    log = finished.stderr.decode()
    assert finished.returncode == 2, log
    assert "worker cannot run" in log
    assert "MEDIA_ROOT" in log
    assert "started" not in log


async def test_a_worker_on_the_same_media_store_starts(tmp_path: Path) -> None:
    await check_media_identity(await get_job_store(), await get_media_store())
    finished = await asyncio.to_thread(run_worker_burst, dict(os.environ))
    log = finished.stderr.decode()
    assert finished.returncode == 0, log
    assert "media store: backend local" in log


async def test_the_web_on_another_media_store_refuses_to_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from web.app import create_app

    await check_media_identity(await get_job_store(), await get_media_store())
    await close_media_store()
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "web-media"))
    app = create_app()
    with pytest.raises(ConfigurationError, match="MEDIA_ROOT"):
        async with app.router.lifespan_context(app):
            pass
