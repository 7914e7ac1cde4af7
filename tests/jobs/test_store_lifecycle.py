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
from common.jobs import close_job_store, get_job_store, sql
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


async def test_a_store_made_before_job_stages_is_migrated_with_its_jobs() -> None:
    path = Path(os.environ["JOB_STORE_PATH"])
    # The schema as it was before migration 5 (job stages), holding a running job.
    with closing(sqlite3.connect(path)) as connection:
        connection.execute(sql.CREATE_META)
        connection.execute("INSERT INTO meta (key, value) VALUES ('store_id', 'old'), ('schema_version', '4')")
        for number, statements in sql.MIGRATIONS:
            if number <= 4:
                for statement in statements:
                    connection.execute(statement)
        connection.execute(
            "INSERT INTO jobs (id, type, status, payload, progress, attempts, max_attempts, created_at, updated_at, "
            "run_after, lease_token, lease_expires_at) VALUES (?, 'render', 'running', '{}', 0.5, 1, 3, 1, 1, 1, "
            "'token', 99999999999999)",
            ("a" * 32,),
        )
        connection.commit()

    store = await get_job_store()
    try:
        before = await store.get_job_snapshot("a" * 32)
        assert before is not None
        assert (before.progress, before.stage) == (0.5, None)
        assert await store.set_progress("a" * 32, "token", 0.6, "encoding")
        after = await store.get_job("a" * 32)
        assert after is not None
        assert (after.progress, after.stage) == (0.6, "encoding")
    finally:
        await close_job_store()
