"""Worker benchmark: our worker on the local store and on sqld, side by side with arq on a local Redis.

    .venv/bin/python -m bench.worker_bench [--jobs 10000] [--pickups 200] [--idle-s 10]

For each system, in the same run, always real worker processes (``python -m workers``; arq's ``Worker`` run as its
CLI runs it):
- drain: a queue of ``--jobs`` no-op jobs, filled before the worker starts, run by one burst-mode worker process at
  its default concurrency. The rate is jobs over the time from the first job's start to the last one's finish, as
  each system records them (what the queue sustains); the process's whole life, start-up and imports included, is
  shown beside it. Every job must have run exactly once (one attempt, completed);
- pickup latency p50/p99: a worker process that is idle; jobs are submitted one at a time, each after the previous
  one finished and a random pause of 50-250 ms; latency is the job's start time minus its enqueue time, both as
  each system records them;
- idle CPU: the idle worker process's CPU use over ``--idle-s`` seconds, in % of one core.

arq runs at its default settings (``poll_delay=0.5``), at ``poll_delay=0.05`` and at ``poll_delay=0.005``, its
fastest. Redis (Debian's ``redis-server``) and sqld are started on free loopback ports and stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from common.config import PROJECT_ROOT
from common.jobs import Job, JobStatus, JobStore, close_job_store, get_job_store
from tests.support.processes import stop_process
from workers.handler_protocol import Handler, JobContext

BENCH_HANDLERS = "bench.worker_bench"
PAUSE_S = (0.05, 0.25)
ARQ_DEFAULT_POLL_DELAY_S = 0.5
ARQ_FAST_POLL_DELAY_S = 0.05
ARQ_FASTEST_POLL_DELAY_S = 0.005
#: What issue 12 asks of the worker, checked at the end of a run.
DRAIN_RATIO_TARGET = 2.0
SQLD_DRAIN_TARGET = 1000.0
SQLD_PICKUP_P99_TARGET_MS = 250.0
IDLE_CPU_TARGET_PCT = 1.0
READ_CHUNK = 16


async def noop(job: Job, ctx: JobContext) -> dict[str, Any]:
    return {}


HANDLERS: dict[str, Handler] = {"noop": noop}


async def arq_noop(ctx: dict[str, Any]) -> None:
    return None


@dataclass
class Figures:
    system: str
    drain_jobs_per_s: float
    drain_process_jobs_per_s: float
    pickup_p50_ms: float
    pickup_p99_ms: float
    idle_cpu_pct: float


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def free_port() -> int:
    from tests.support.ports import free_port as pick

    return pick()


def idle_cpu_pct(pid: int, seconds: float) -> float:
    process = psutil.Process(pid)
    before = process.cpu_times()
    started = time.monotonic()
    time.sleep(seconds)
    after = process.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return 100.0 * used / (time.monotonic() - started)


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        child = subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield child
    finally:
        stop_process(child, timeout_s=30)


# -- our worker ------------------------------------------------------------------------------------------------


async def our_drain(jobs: int, work_dir: Path) -> tuple[float, float]:
    """(jobs/s from the first start to the last finish, jobs/s over the worker process's life)."""
    store = await get_job_store()
    ids = [(await store.create_job("noop", {}))[0].id for _ in range(jobs)]
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    args = [sys.executable, "-m", "workers", "--burst", "--handlers", BENCH_HANDLERS]
    started = time.perf_counter()
    with process(args, env, work_dir / "worker-drain.log") as worker:
        await asyncio.to_thread(worker.wait)
    elapsed = time.perf_counter() - started
    ran = await read_jobs(store, ids)
    await close_job_store()
    if any(job is None or job.status is not JobStatus.COMPLETED or job.attempts != 1 for job in ran):
        raise RuntimeError(f"drain did not run every job exactly once; see {work_dir / 'worker-drain.log'}")
    first = min(job.started_at for job in ran if job is not None and job.started_at is not None)
    last = max(job.finished_at for job in ran if job is not None and job.finished_at is not None)
    return jobs / (last - first).total_seconds(), jobs / elapsed


async def read_jobs(store: JobStore, ids: list[str]) -> list[Job | None]:
    """Every job by id, a few dozen reads in flight at once (one answer with 10,000 rows is too large for sqld)."""
    found: list[Job | None] = []
    for start in range(0, len(ids), READ_CHUNK):
        found += await asyncio.gather(*(store.get_job(job_id) for job_id in ids[start : start + READ_CHUNK]))
    return found


async def our_pickup(pickups: int, idle_s: float, work_dir: Path) -> tuple[list[float], float]:
    store = await get_job_store()
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    args = [sys.executable, "-m", "workers", "--handlers", BENCH_HANDLERS]
    with process(args, env, work_dir / "worker.log") as worker:
        warm_up, _ = await store.create_job("noop", {})
        await wait_finished(store, warm_up.id, timeout_s=30)
        await asyncio.sleep(1.5)
        cpu = await asyncio.to_thread(idle_cpu_pct, worker.pid, idle_s)
        latencies = []
        for _ in range(pickups):
            await asyncio.sleep(random.uniform(*PAUSE_S))
            job, _ = await store.create_job("noop", {})
            done = await wait_finished(store, job.id, timeout_s=10)
            if done.started_at is None:
                raise RuntimeError(f"job {job.id} finished {done.status} without starting")
            latencies.append((done.started_at - done.created_at).total_seconds() * 1000)
    await close_job_store()
    return latencies, cpu


async def wait_finished(store: Any, job_id: str, timeout_s: float) -> Job:
    deadline = time.monotonic() + timeout_s
    while True:
        job = await store.get_job(job_id)
        if job is not None and job.status is JobStatus.COMPLETED:
            return job
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} did not complete within {timeout_s} s: {job}")
        await asyncio.sleep(0.002)


async def measure_ours(system: str, jobs: int, pickups: int, idle_s: float, work_dir: Path) -> Figures:
    drain, drain_process = await our_drain(jobs, work_dir)
    print(f"  {system}: drain {drain:,.0f} jobs/s ({drain_process:,.0f} over the process's life)", flush=True)
    latencies, cpu = await our_pickup(pickups, idle_s, work_dir)
    return Figures(system, drain, drain_process, percentile(latencies, 0.5), percentile(latencies, 0.99), cpu)


# -- arq ---------------------------------------------------------------------------------------------------------


def arq_worker(port: int, poll_delay_s: float, burst: bool) -> Any:
    from arq.connections import RedisSettings
    from arq.worker import Worker as ArqWorker
    from arq.worker import func

    return ArqWorker(
        functions=[func(arq_noop, name="noop")],
        redis_settings=RedisSettings(port=port),
        burst=burst,
        poll_delay=poll_delay_s,
        handle_signals=not burst,
    )


async def arq_drain(port: int, jobs: int, poll_delay_s: float, work_dir: Path) -> tuple[float, float]:
    """(jobs/s from the first start to the last finish, jobs/s over the worker process's life)."""
    from arq import create_pool
    from arq.connections import RedisSettings

    pool = await create_pool(RedisSettings(port=port))
    await pool.flushdb()
    for _ in range(jobs):
        await pool.enqueue_job("noop")
    args = [*arq_worker_command(port, poll_delay_s), "--burst"]
    started = time.perf_counter()
    with process(args, dict(os.environ), work_dir / f"arq-drain-{poll_delay_s}.log") as worker:
        await asyncio.to_thread(worker.wait)
    elapsed = time.perf_counter() - started
    results = await pool.all_job_results()
    await pool.flushdb()
    await pool.aclose()
    if len(results) != jobs or any(not result.success or result.job_try != 1 for result in results):
        raise RuntimeError(f"arq did not run every job exactly once: {len(results)} results of {jobs}")
    first = min(result.start_time for result in results)
    last = max(result.finish_time for result in results)
    return jobs / (last - first).total_seconds(), jobs / elapsed


def arq_worker_command(port: int, poll_delay_s: float) -> list[str]:
    return [sys.executable, "-m", "bench.worker_bench", "--arq-worker", str(port), "--poll-delay", str(poll_delay_s)]


async def arq_pickup(
    port: int, poll_delay_s: float, pickups: int, idle_s: float, work_dir: Path
) -> tuple[list[float], float]:
    from arq import create_pool
    from arq.connections import RedisSettings

    pool = await create_pool(RedisSettings(port=port))
    args = arq_worker_command(port, poll_delay_s)
    with process(args, dict(os.environ), work_dir / f"arq-{poll_delay_s}.log") as worker:
        warm_up = await pool.enqueue_job("noop")
        assert warm_up is not None
        await warm_up.result(timeout=30, poll_delay=0.005)
        await asyncio.sleep(1.5)
        cpu = await asyncio.to_thread(idle_cpu_pct, worker.pid, idle_s)
        latencies = []
        for _ in range(pickups):
            await asyncio.sleep(random.uniform(*PAUSE_S))
            job = await pool.enqueue_job("noop")
            assert job is not None
            await job.result(timeout=10, poll_delay=0.002)
            info = await job.result_info()
            assert info is not None
            latencies.append((info.start_time - info.enqueue_time).total_seconds() * 1000)
    await pool.flushdb()
    await pool.aclose()
    return latencies, cpu


async def measure_arq(
    system: str, port: int, poll_delay_s: float, jobs: int, pickups: int, idle_s: float, work_dir: Path
) -> Figures:
    drain, drain_process = await arq_drain(port, jobs, poll_delay_s, work_dir)
    print(f"  {system}: drain {drain:,.0f} jobs/s ({drain_process:,.0f} over the process's life)", flush=True)
    latencies, cpu = await arq_pickup(port, poll_delay_s, pickups, idle_s, work_dir)
    return Figures(system, drain, drain_process, percentile(latencies, 0.5), percentile(latencies, 0.99), cpu)


@contextlib.contextmanager
def redis_server(work_dir: Path) -> Iterator[int]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    args = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(work_dir),
    ]
    with process(args, dict(os.environ), work_dir / "redis.log") as server:
        deadline = time.monotonic() + 10
        while "Ready to accept connections" not in (work_dir / "redis.log").read_text(errors="replace"):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start; see {work_dir / 'redis.log'}")
            time.sleep(0.01)
        yield port


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# -- the run -----------------------------------------------------------------------------------------------------


def print_table(rows: list[Figures]) -> None:
    header = (
        f"{'system':<30}{'drain jobs/s':>14}{'(process life)':>16}{'pickup p50 ms':>15}{'pickup p99 ms':>15}"
        f"{'idle CPU %':>12}"
    )
    print()
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.system:<30}{row.drain_jobs_per_s:>14,.0f}{row.drain_process_jobs_per_s:>16,.0f}"
            f"{row.pickup_p50_ms:>15.1f}{row.pickup_p99_ms:>15.1f}{row.idle_cpu_pct:>12.2f}"
        )
    by_name = {row.system: row for row in rows}
    local, sqld = by_name["audioprep, local store"], by_name["audioprep, sqld (ws)"]
    fastest = by_name[f"arq, poll_delay={ARQ_FASTEST_POLL_DELAY_S}"]
    print()
    print("ratios (audioprep / arq), measured in this run:")
    for row in (local, sqld):
        for other in rows:
            if other.system.startswith("arq"):
                print(
                    f"  {row.system} vs {other.system}: drain x{row.drain_jobs_per_s / other.drain_jobs_per_s:.2f} "
                    f"(process life x{row.drain_process_jobs_per_s / other.drain_process_jobs_per_s:.2f}), "
                    f"pickup p50 x{row.pickup_p50_ms / other.pickup_p50_ms:.2f}, "
                    f"p99 x{row.pickup_p99_ms / other.pickup_p99_ms:.2f}"
                )
    print()
    print("targets (issue 12):")
    checks = [
        (
            f"local drain >= {DRAIN_RATIO_TARGET:g}x arq at poll_delay={ARQ_FASTEST_POLL_DELAY_S}",
            local.drain_jobs_per_s >= DRAIN_RATIO_TARGET * fastest.drain_jobs_per_s,
        ),
        (f"sqld drain >= {SQLD_DRAIN_TARGET:,.0f} jobs/s", sqld.drain_jobs_per_s >= SQLD_DRAIN_TARGET),
        (f"sqld pickup p99 <= {SQLD_PICKUP_P99_TARGET_MS:g} ms", sqld.pickup_p99_ms <= SQLD_PICKUP_P99_TARGET_MS),
        (f"idle CPU < {IDLE_CPU_TARGET_PCT:g}% of a core, local", local.idle_cpu_pct < IDLE_CPU_TARGET_PCT),
        (f"idle CPU < {IDLE_CPU_TARGET_PCT:g}% of a core, sqld", sqld.idle_cpu_pct < IDLE_CPU_TARGET_PCT),
    ]
    for label, met in checks:
        print(f"  {'met ' if met else 'MISSED'} {label}")


async def run(jobs: int, pickups: int, idle_s: float) -> list[Figures]:
    from tests.support.sqld import start_sqld

    rows = []
    with tempfile.TemporaryDirectory(prefix="worker-bench-") as directory:
        work_dir = Path(directory)
        print(f"worker bench: {jobs:,} jobs to drain, {pickups} pickups, {idle_s:g} s idle; logs in {work_dir}")
        with environment(JOB_STORE_BACKEND="local", JOB_STORE_PATH=str(work_dir / "local" / "jobs.sqlite3")):
            rows.append(await measure_ours("audioprep, local store", jobs, pickups, idle_s, work_dir))
        server = start_sqld(work_dir / "sqld")
        try:
            with environment(JOB_STORE_BACKEND="turso", TURSO_DATABASE_URL=server.url("ws")):
                rows.append(await measure_ours("audioprep, sqld (ws)", jobs, pickups, idle_s, work_dir))
        finally:
            server.stop()
        with redis_server(work_dir) as port:
            for poll_delay_s, name in [
                (ARQ_DEFAULT_POLL_DELAY_S, f"arq, default (poll_delay={ARQ_DEFAULT_POLL_DELAY_S})"),
                (ARQ_FAST_POLL_DELAY_S, f"arq, poll_delay={ARQ_FAST_POLL_DELAY_S}"),
                (ARQ_FASTEST_POLL_DELAY_S, f"arq, poll_delay={ARQ_FASTEST_POLL_DELAY_S}"),
            ]:
                rows.append(await measure_arq(name, port, poll_delay_s, jobs, pickups, idle_s, work_dir))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000, help="no-op jobs to drain (default 10000)")
    parser.add_argument("--pickups", type=int, default=200, help="jobs submitted one at a time (default 200)")
    parser.add_argument("--idle-s", type=float, default=10.0, help="seconds of idle CPU measurement (default 10)")
    parser.add_argument("--arq-worker", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--poll-delay", type=float, default=ARQ_DEFAULT_POLL_DELAY_S, help=argparse.SUPPRESS)
    parser.add_argument("--burst", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arq_worker is not None:
        # The arq side: a worker process as the arq CLI would run it (``Worker.run()``), idle or in burst mode.
        logging.basicConfig(level=logging.WARNING)
        arq_worker(args.arq_worker, args.poll_delay, burst=args.burst).run()
        return
    print_table(asyncio.run(run(args.jobs, args.pickups, args.idle_s)))


if __name__ == "__main__":
    main()
