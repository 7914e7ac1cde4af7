"""The store under several real OS processes at once, on every backend: claims are exact, dead workers' leases
lapse and their late writes are refused, and processes opening a brand-new store together agree on one schema."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from common.jobs import JobError, JobStatus, get_job_store
from tests.jobs.store_claimer import spawn, store_processes

CLAIMING_PROCESSES = 4
JOBS = 2000
PROCESS_TIMEOUT_S = 120
DEAD_WORKER_LEASE_S = 0.5


def wait_for_file(path: Path, process, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(f"process exited early: {process.stderr.read().decode()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{path} did not appear")
        time.sleep(0.01)
    return path.read_text()


@pytest.mark.slow
async def test_processes_claim_every_job_exactly_once(store_env: str, tmp_path: Path) -> None:
    store = await get_job_store()
    for n in range(JOBS):
        await store.create_job("ingest", {"n": n})
    work = tmp_path / "claims"
    work.mkdir()
    with store_processes() as processes:
        for number in range(CLAIMING_PROCESSES):
            spawn(processes, "claim", str(work), f"claimer-{number}")
        (work / "go").touch()
        errors = [process.communicate(timeout=PROCESS_TIMEOUT_S)[1].decode() for process in processes]
        assert [process.returncode for process in processes] == [0] * CLAIMING_PROCESSES, "\n".join(errors)
    assert not any("locked" in error for error in errors), errors
    claimed = [line for n in range(CLAIMING_PROCESSES) for line in (work / f"claimer-{n}.ids").read_text().split()]
    assert len(claimed) == JOBS
    assert len(set(claimed)) == JOBS
    assert await store.count_jobs() == {"ingest": {"completed": JOBS}}
    assert sum(1 for n in range(CLAIMING_PROCESSES) if (work / f"claimer-{n}.ids").read_text()) > 1


async def test_dead_workers_lease_lapses_and_its_late_writes_are_refused(store_env: str, tmp_path: Path) -> None:
    store = await get_job_store()
    job, _ = await store.create_job("render", {"n": 1})
    with store_processes() as processes:
        holder = spawn(processes, "hold", str(tmp_path), "doomed", str(DEAD_WORKER_LEASE_S))
        held_id, held_token = wait_for_file(tmp_path / "doomed.held", holder).split()
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert held_id == job.id
    assert (await store.get_job(job.id)).status is JobStatus.RUNNING
    assert await store.requeue_expired_jobs() == 0
    await asyncio.sleep(DEAD_WORKER_LEASE_S + 0.1)
    assert await store.requeue_expired_jobs() == 1
    again = await store.claim_next_job("survivor", 30)
    assert again is not None
    assert again.id == job.id
    assert again.attempts == 2
    assert not await store.heartbeat(job.id, held_token, 30)
    assert not await store.complete_job(job.id, held_token, {"by": "doomed"})
    assert not await store.fail_job(job.id, held_token, JobError("x", "y"))
    assert await store.complete_job(job.id, again.lease_token, {"by": "survivor"})
    assert (await store.get_job(job.id)).result == {"by": "survivor"}


@pytest.mark.slow
async def test_processes_opening_a_new_store_together_agree(store_env: str, tmp_path: Path) -> None:
    with store_processes() as processes:
        for number in range(CLAIMING_PROCESSES):
            spawn(processes, "open", str(tmp_path), f"opener-{number}")
        # Let every interpreter finish importing before releasing them at once.
        await asyncio.sleep(1.0)
        (tmp_path / "go").touch()
        errors = [process.communicate(timeout=PROCESS_TIMEOUT_S)[1].decode() for process in processes]
        assert [process.returncode for process in processes] == [0] * CLAIMING_PROCESSES, "\n".join(errors)
    ids = {(tmp_path / f"opener-{number}.store_id").read_text() for number in range(CLAIMING_PROCESSES)}
    assert len(ids) == 1
    store = await get_job_store()
    assert ids == {store.store_id}
    job, _ = await store.create_job("ingest", {})
    assert (await store.get_job(job.id)).status is JobStatus.QUEUED
