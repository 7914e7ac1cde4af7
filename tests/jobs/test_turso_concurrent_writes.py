"""Several processes, each with several claims and completions in flight, on one real sqld: every write lands.

sqld 0.24.32 (the test server) can stop taking writes for good under this load, while reads still answer: a write
waiting in its write-lock queue that wakes while a checkpoint holds the lock gives up with SQLITE_BUSY but stays
queued, and the lock is later handed to that finished connection, which never takes or releases it. The test server
runs with one connection at a time (``tests/support/sqld.py``) so writers never queue; without that this test stalls.
A stall (no job completed for ``STALL_S``) fails the test instead of hanging it; a slow but moving drain, as on a
loaded machine, is not a stall.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest

from common.jobs import JobStore, get_job_store
from tests.jobs.store_claimer import spawn, store_processes

PROCESSES = 4
IN_FLIGHT_PER_PROCESS = 8
JOBS = 3000
#: Large results fill the write-ahead log quickly, so sqld checkpoints often: the moment the stall needs.
RESULT_BYTES = 32_000
STALL_S = 15.0
CREATE_CHUNK = 50


async def completed_count(store: JobStore) -> int:
    return (await store.count_jobs()).get("ingest", {}).get("completed", 0)


async def wait_until_exited_or_stalled(store: JobStore, processes: list[subprocess.Popen[bytes]]) -> bool:
    """True once every process exited; False as soon as no job was completed for ``STALL_S``."""
    last_count, last_progress = -1, time.monotonic()
    while any(process.poll() is None for process in processes):
        count = await completed_count(store)
        if count != last_count:
            last_count, last_progress = count, time.monotonic()
        elif time.monotonic() - last_progress > STALL_S:
            return False
        await asyncio.sleep(0.5)
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
        if not await wait_until_exited_or_stalled(store, processes):
            counts = await store.count_jobs()
            pytest.fail(f"writes stopped: {counts}, no job completed for {STALL_S} s")
        errors = [process.communicate()[1].decode() for process in processes]
        assert [process.returncode for process in processes] == [0] * PROCESSES, "\n".join(errors)
    claimed = [line for n in range(PROCESSES) for line in (work / f"drainer-{n}.ids").read_text().split()]
    assert len(claimed) == JOBS
    assert len(set(claimed)) == JOBS
    assert await store.count_jobs() == {"ingest": {"completed": JOBS}}
