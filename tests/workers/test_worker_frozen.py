"""A real worker frozen past its lease (SIGSTOP), its job run again and completed by another worker, then thawed
(SIGCONT): the first worker's clean-up must leave the completed run's output alone, on the local store and sqld."""

from __future__ import annotations

import asyncio
import signal

import pytest

from common.jobs import JobStatus, get_job_store
from common.media import MEDIA_URL_PREFIX, job_run_dirs, preview_run_dir, resolve_media_url_path
from tests.support.web_client import in_process_web
from tests.support.worker_process import WorkerStarter, is_finished, wait_for_job
from tests.workers.test_worker_processes import FAST_LEASE, running_under


@pytest.mark.slow
@pytest.mark.parametrize("store_env", [pytest.param("local"), pytest.param("turso-ws")], indirect=True)
async def test_a_worker_thawed_after_its_job_completed_elsewhere_keeps_the_completed_output(
    store_env: str, start_worker: WorkerStarter
) -> None:
    store = await get_job_store()
    # The first run works for a minute, the second finishes at once.
    job, _ = await store.create_job("publish", {"seconds": [60, 0]})
    frozen = start_worker(*FAST_LEASE)
    first_run = await wait_for_job(store, job.id, running_under(frozen, with_output=True))
    assert first_run.lease_token is not None
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
    url = final.result["url"]
    path = resolve_media_url_path(url.removeprefix(MEDIA_URL_PREFIX))
    assert path is not None
    assert path.is_file(), frozen.log()
    # The frozen run's own folder is gone; only the completed run's is left.
    assert not preview_run_dir(job.id, first_run.lease_token).exists()
    assert job_run_dirs(None, job.id) == [path.parent]
    async with in_process_web() as web:
        served = await web.get(url)
    assert served.status_code == 200
    assert served.content == path.read_bytes()
