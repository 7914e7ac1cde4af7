"""A worker stand-in run as its own OS process by the store tests: it reaches the store through
``get_job_store()`` and the inherited environment, exactly as ``python -m workers`` does.

``claim DIR NAME``: wait for ``DIR/go``, then claim and complete jobs until none is left, writing each claimed
job id to ``DIR/NAME.ids``. ``drain DIR NAME IN_FLIGHT RESULT_BYTES``: the same with ``IN_FLIGHT`` claim+complete
loops at once, each completion carrying a result of about ``RESULT_BYTES``. ``hold DIR NAME LEASE_S``: claim one
job, write ``id token`` to ``DIR/NAME.held``, then wait to be killed (a worker that dies holding a lease).
``open DIR NAME``: open the store and write its id.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common.jobs import close_job_store, get_job_store

START_WAIT_S = 60.0
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def store_processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """A list to start processes into with ``spawn``; every one still running at the end is killed by PID."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()


def spawn(processes: list[subprocess.Popen[bytes]], *args: str) -> subprocess.Popen[bytes]:
    """Run this module as a new process with the current environment (so the same store settings)."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    process = subprocess.Popen([sys.executable, __file__, *args], env=env, cwd=PROJECT_ROOT, stderr=subprocess.PIPE)
    processes.append(process)
    return process


async def claim_all(directory: Path, name: str) -> None:
    store = await get_job_store()
    await wait_for_go(directory)
    claimed: list[str] = []
    while (job := await store.claim_next_job(name, 60)) is not None:
        if not await store.complete_job(job.id, job.lease_token or "", {"by": name}):
            raise SystemExit(f"job {job.id} lost its lease while this process held it")
        claimed.append(job.id)
    (directory / f"{name}.ids").write_text("\n".join(claimed))


async def drain(directory: Path, name: str, in_flight: int, result_bytes: int) -> None:
    store = await get_job_store()
    await wait_for_go(directory)
    claimed: list[str] = []

    async def claim_and_complete() -> None:
        while (job := await store.claim_next_job(name, 60)) is not None:
            if not await store.complete_job(job.id, job.lease_token or "", {"by": name, "pad": "x" * result_bytes}):
                raise SystemExit(f"job {job.id} lost its lease while this process held it")
            claimed.append(job.id)

    await asyncio.gather(*(claim_and_complete() for _ in range(in_flight)))
    (directory / f"{name}.ids").write_text("\n".join(claimed))


async def wait_for_go(directory: Path) -> None:
    deadline = time.monotonic() + START_WAIT_S
    while not (directory / "go").exists():
        if time.monotonic() > deadline:
            raise SystemExit("no go signal")
        await asyncio.sleep(0.005)


async def hold_one(directory: Path, name: str, lease_s: float) -> None:
    store = await get_job_store()
    job = await store.claim_next_job(name, lease_s)
    if job is None:
        raise SystemExit("nothing to claim")
    (directory / f"{name}.held").write_text(f"{job.id} {job.lease_token}")
    await asyncio.sleep(START_WAIT_S)


async def open_store(directory: Path, name: str) -> None:
    deadline = time.monotonic() + START_WAIT_S
    while not (directory / "go").exists():
        if time.monotonic() > deadline:
            raise SystemExit("no go signal")
        await asyncio.sleep(0.001)
    store = await get_job_store()
    (directory / f"{name}.store_id").write_text(store.store_id)


async def main(argv: list[str]) -> None:
    command, directory, name = argv[0], Path(argv[1]), argv[2]
    try:
        if command == "claim":
            await claim_all(directory, name)
        elif command == "drain":
            await drain(directory, name, int(argv[3]), int(argv[4]))
        elif command == "hold":
            await hold_one(directory, name, float(argv[3]))
        else:
            await open_store(directory, name)
    finally:
        await close_job_store()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
