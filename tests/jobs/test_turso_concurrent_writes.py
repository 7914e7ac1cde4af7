"""Several processes, each with several claims and completions in flight, on one real sqld: every write lands.

sqld 0.24.32 (the test server) can stop taking writes for good under this load, while reads still answer: a write
waiting in its write-lock queue that wakes while a checkpoint holds the lock gives up with SQLITE_BUSY but stays
queued, and the lock is later handed to that finished connection, which never takes or releases it. The test server
runs with one connection at a time (``tests/support/sqld.py``) so writers never queue; without that this test stalls.
A stall fails the test at ``DRAIN_DEADLINE_S`` instead of hanging it.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest

from common.jobs import get_job_store
from tests.jobs.store_claimer import spawn, store_processes

PROCESSES = 4
IN_FLIGHT_PER_PROCESS = 8
JOBS = 3000
#: Large results fill the write-ahead log quickly, so sqld checkpoints often: the moment the stall needs.
RESULT_BYTES = 32_000
DRAIN_DEADLINE_S = 30.0
CREATE_CHUNK = 50


async def wait_until_exited(processes: list[subprocess.Popen[bytes]], deadline: float) -> bool:
    while any(process.poll() is None for process in processes):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("store_env", ["turso-http", "turso-ws"], indirect=True)
async def test_many_writes_in_flight_from_many_processes_all_land(store_env: str, tmp_path: Path) -> None:
    store = await get_job_store()
    for start in range(0, JOBS, CREATE_CHUNK):
        await asyncio.gather(*(store.create_job("ingest", {"n": n}) for n in range(start, start + CREATE_CHUNK)))
    work = tmp_path / "drain"
    work.mkdir()
    with store_processes() as processes:
        for number in range(PROCESSES):
            spawn(processes, "drain", str(work), f"drainer-{number}", str(IN_FLIGHT_PER_PROCESS), str(RESULT_BYTES))
        (work / "go").touch()
        exited = await wait_until_exited(processes, time.monotonic() + DRAIN_DEADLINE_S)
        if not exited:
            counts = await store.count_jobs()
            pytest.fail(f"writes stopped: {counts} after {DRAIN_DEADLINE_S} s")
        errors = [process.communicate()[1].decode() for process in processes]
        assert [process.returncode for process in processes] == [0] * PROCESSES, "\n".join(errors)
    claimed = [line for n in range(PROCESSES) for line in (work / f"drainer-{n}.ids").read_text().split()]
    assert len(claimed) == JOBS
    assert len(set(claimed)) == JOBS
    assert await store.count_jobs() == {"ingest": {"completed": JOBS}}
