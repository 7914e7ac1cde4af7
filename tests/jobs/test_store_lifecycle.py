"""The process's store from opening to exit: a program that never closes it still exits, and a close during the
first opening never leaves a closed store behind for later callers."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path

from common.config import PROJECT_ROOT
from common.jobs import close_job_store, get_job_store
from tests.support.processes import stop_process

#: Far longer than the program needs even on a loaded machine; a program that hangs at exit never finishes.
EXIT_TIMEOUT_S = 60.0

NEVER_CLOSES = textwrap.dedent(
    """
    import asyncio

    from common.jobs import get_job_store


    async def main() -> None:
        store = await get_job_store()
        job, _ = await store.create_job("ingest", {"from": "a program that never closes its store"})
        print(job.id, flush=True)


    asyncio.run(main())
    """
)


def test_a_program_that_returns_without_closing_the_store_exits(tmp_path: Path) -> None:
    store_path = tmp_path / "program-store.sqlite3"
    env = {**os.environ, "JOB_STORE_BACKEND": "local", "JOB_STORE_PATH": str(store_path)}
    out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", NEVER_CLOSES], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=err
        )
    try:
        exit_code = process.wait(timeout=EXIT_TIMEOUT_S)
    finally:
        stop_process(process, 5.0)
    assert exit_code == 0, err_path.read_text(errors="replace")
    with closing(sqlite3.connect(store_path)) as connection:
        rows = connection.execute("SELECT status FROM jobs WHERE id = ?", (out_path.read_text().strip(),)).fetchall()
    assert rows == [("queued",)]


async def test_a_close_during_the_first_opening_leaves_no_closed_store_behind() -> None:
    first = asyncio.create_task(get_job_store())
    # One turn of the loop: the first call has started the opening and waits for it.
    await asyncio.sleep(0)
    await close_job_store()
    store = await first
    assert await get_job_store() is store
    job, created = await store.create_job("ingest", {})
    assert created
    assert await store.get_job(job.id) == job
