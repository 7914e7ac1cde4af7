"""``JOB_MAX_ATTEMPTS`` is the one retry setting: stored on each job as it is created, obeyed by every worker."""

from __future__ import annotations

import asyncio

import pytest

from common.config import DEFAULT_JOB_MAX_ATTEMPTS
from common.errors import ConfigurationError
from common.jobs import JobStatus, get_job_store
from tests.support.worker_handlers import HANDLERS
from tests.support.worker_process import is_finished, wait_for_job
from workers.settings import WorkerSettings, settings_from_env
from workers.worker import Worker

SETTINGS = WorkerSettings(retry_base_s=0.01, retry_max_s=0.01, heartbeat_s=0.1, lease_s=5)


@pytest.mark.parametrize("attempts", [DEFAULT_JOB_MAX_ATTEMPTS - 1, DEFAULT_JOB_MAX_ATTEMPTS + 2])
async def test_a_transiently_failing_job_runs_exactly_the_configured_number_of_times(
    monkeypatch: pytest.MonkeyPatch, attempts: int
) -> None:
    monkeypatch.setenv("JOB_MAX_ATTEMPTS", str(attempts))
    store = await get_job_store()
    # Created as the web creates jobs: without naming max_attempts.
    succeeds_last, _ = await store.create_job("fail_transient", {"failures": attempts - 1})
    never_succeeds, _ = await store.create_job("fail_transient", {"failures": attempts})
    assert succeeds_last.max_attempts == never_succeeds.max_attempts == attempts
    worker = Worker(SETTINGS, HANDLERS)
    task = asyncio.create_task(worker.run())
    try:
        done = await wait_for_job(store, succeeds_last.id, is_finished)
        failed = await wait_for_job(store, never_succeeds.id, is_finished)
    finally:
        worker.stop()
        await task
    assert (done.status, done.attempts, done.result) == (JobStatus.COMPLETED, attempts, {"attempt": attempts})
    assert (failed.status, failed.attempts) == (JobStatus.FAILED, attempts)
    assert failed.error is not None
    assert failed.error.code == "store_error"


@pytest.mark.parametrize("value", ["0", "-2", "three", "2.5"])
async def test_an_impossible_job_max_attempts_stops_the_store_from_opening(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("JOB_MAX_ATTEMPTS", value)
    with pytest.raises(ConfigurationError, match="JOB_MAX_ATTEMPTS"):
        await get_job_store()


def test_the_retired_worker_setting_is_refused_rather_than_ignored() -> None:
    with pytest.raises(ConfigurationError, match="JOB_MAX_ATTEMPTS"):
        settings_from_env({"WORKER_MAX_ATTEMPTS": "5"})
