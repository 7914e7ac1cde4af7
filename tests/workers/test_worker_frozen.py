"""A real worker frozen past its lease (SIGSTOP), its job run again and completed by another worker, then thawed
(SIGCONT): the first worker's clean-up must leave the completed run's output alone, and a job that makes an asset
version must record the completing run's files, on the local store and sqld."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from common.ids import new_id
from common.jobs import Job, JobStatus, get_job_store
from tests.support.media_files import (
    MEDIA_URL_PREFIX,
    asset_run_dir,
    job_run_dirs,
    preview_run_dir,
    resolve_media_url_path,
)
from tests.support.web_client import in_process_web
from tests.support.worker_handlers import PARTIAL_FILE
from tests.support.worker_process import WorkerProcess, WorkerStarter, is_finished, wait_for_job
from tests.workers.test_worker_processes import FAST_LEASE, owner_pid

#: Job type -> the result key naming the file it publishes.
PUBLISHED_KEY = {"publish": "url", "publish_version": "audioUrl"}


def run_folder(job: Job) -> Path:
    asset_id, token = job.payload["assetId"], job.lease_token or ""
    return preview_run_dir(job.id, token) if job.type == "publish" else asset_run_dir(asset_id, job.id, token)


def writing_under(worker: WorkerProcess) -> Callable[[Job], bool]:
    def check(job: Job) -> bool:
        running = job.status is JobStatus.RUNNING and owner_pid(job) == worker.pid
        return running and (run_folder(job) / PARTIAL_FILE).exists()

    return check


@pytest.mark.slow
@pytest.mark.parametrize("job_type", ["publish", "publish_version"])
@pytest.mark.parametrize("store_env", [pytest.param("local"), pytest.param("turso-ws")], indirect=True)
async def test_a_worker_thawed_after_its_job_completed_elsewhere_keeps_the_completed_output(
    store_env: str, job_type: str, start_worker: WorkerStarter
) -> None:
    store = await get_job_store()
    asset_id = new_id()
    # The first run works for a minute, the second finishes at once.
    job, _ = await store.create_job(job_type, {"assetId": asset_id, "seconds": [60, 0]})
    frozen = start_worker(*FAST_LEASE)
    first_run = await wait_for_job(store, job.id, writing_under(frozen))
    frozen.signal(signal.SIGSTOP)
    try:
        second = start_worker(*FAST_LEASE)
        done = await wait_for_job(store, job.id, is_finished)
        assert done.status is JobStatus.COMPLETED, second.log()
        assert done.attempts == 2
    finally:
        frozen.signal(signal.SIGCONT)
    await asyncio.to_thread(frozen.wait_for_log, f"job {job.id} lease lost")

    final = await store.get_job(job.id)
    assert final is not None
    assert final.status is JobStatus.COMPLETED
    assert final.result == done.result
    assert final.result is not None
    url = final.result[PUBLISHED_KEY[job_type]]
    path = resolve_media_url_path(url.removeprefix(MEDIA_URL_PREFIX))
    assert path is not None
    assert path.is_file(), frozen.log()
    # The frozen run's own folder is gone; only the completed run's is left.
    assert not run_folder(first_run).exists()
    assert job_run_dirs(asset_id, job.id) == [path.parent]
    async with in_process_web() as web:
        served = await web.get(url)
        asset = await web.get(f"/api/audio/assets/{asset_id}")
    assert served.status_code == 200
    assert served.content == path.read_bytes()
    if job_type == "publish_version":
        # One version, recorded by the run that completed the job, naming its files.
        assert asset.status_code == 200, asset.text
        versions = asset.json()["versions"]
        assert [(version["version"], version["audioUrl"]) for version in versions] == [(1, url)]
        assert final.result["version"] == 1
    else:
        assert asset.status_code == 404
