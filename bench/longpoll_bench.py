"""Following running jobs: plain 1 s polling against long-polling, in the same run, on real processes.

    .venv/bin/python -m bench.longpoll_bench [--clients 500] [--job-seconds 60] [--waiters 1000]
                                             [--backend local|sqld] [--progress-first-s S] [--progress-interval-s S]

One ``python -m web`` and one ``python -m workers`` (``--concurrency`` = clients, handlers from this module) on a
fresh store. Each phase queues one job per client; every job runs ``--job-seconds`` on the worker's event loop and
reports progress continuously, which the worker writes on its own schedule: by default its first write
``WORKER_PROGRESS_FIRST_S`` after the claim, then at most every ``WORKER_PROGRESS_INTERVAL_S`` (the options set
them for the bench's worker). Each client follows its job until it ends, either with a ``GET`` every second
(plain) or with ``?waitForChange=<updatedAt>`` (long); a request that fails (a 503, a connection reset) counts as
a request and an error, and the client tries again a second later. A long-poll answers every change, so the ratio
of requests is about the job's seconds over its changes: the worker's schedule decides it.

Reported per phase: requests per job, the web process's CPU time per job (user + system, from ``psutil``), and the
delay from a worker's write to the client seeing it (the client's clock at the answer minus the body's
``updatedAt``, which the store stamps with the same host's clock at the write; only changes the client saw). Then
``--waiters`` long-polls wait on queued jobs nobody runs, and the web process's RSS is read while they all wait.
Goals: at least 10x fewer requests and 3x less CPU per job; p50 delay at most 50 ms on the local store (300 ms on
sqld); 1,000 waiters under 200 MB RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import Field, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from common.jobs import Job, close_job_store, get_job_store
from common.jobs.poll import iso_utc
from tests.support.sqld import running_sqld
from tests.support.web_server import WebServer, running_web_server
from tests.support.worker_process import worker_processes
from workers.handler_protocol import Handler, JobContext
from workers.settings import WorkerSettings

JOB_TYPE = "bench.progress"
IDLE_JOB_TYPE = "bench.idle"
PROGRESS_STEP_S = 0.05
PLAIN_INTERVAL_S = 1.0
WAITER_TIMEOUT_S = 15
TERMINAL = {"completed", "failed", "cancelled"}


async def report_progress(job: Job, ctx: JobContext) -> dict[str, Any]:
    """Runs ``payload.seconds`` on the worker's event loop, reporting progress every ``PROGRESS_STEP_S``."""
    seconds = float(job.payload["seconds"])
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        ctx.report_progress(elapsed / seconds)
        await asyncio.sleep(PROGRESS_STEP_S)
    return {}


HANDLERS: dict[str, Handler] = {JOB_TYPE: report_progress}


@dataclass
class Phase:
    name: str
    jobs: int
    requests: int = 0
    errors: int = 0
    delays_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    wall_s: float = 0.0

    def requests_per_job(self) -> float:
        return self.requests / self.jobs

    def cpu_ms_per_job(self) -> float:
        return self.cpu_s * 1000 / self.jobs

    def delay_ms(self, quantile: float) -> float:
        if not self.delays_ms:
            return float("nan")
        return statistics.quantiles(self.delays_ms, n=100)[int(quantile * 100) - 1]


def _stamp_s(updated_at: str) -> float:
    return datetime.fromisoformat(updated_at.replace("Z", "+00:00")).timestamp()


async def follow(session: aiohttp.ClientSession, base_url: str, job_id: str, long_poll: bool, phase: Phase) -> None:
    url = f"{base_url}/api/audio/jobs/{job_id}"
    seen: str | None = None
    status = "queued"
    while status not in TERMINAL:
        params = {"waitForChange": seen, "timeout": "25"} if long_poll and seen else None
        phase.requests += 1
        try:
            async with session.get(url, params=params) as response:
                received = time.time()
                body = await response.json() if response.status == 200 else None
        except aiohttp.ClientError:
            # A kept-alive connection the server closed as it was reused: the client tries again, as a page does.
            body = None
        if body is None:
            phase.errors += 1
            await asyncio.sleep(PLAIN_INTERVAL_S)
            continue
        status = body["status"]
        if seen is not None and body["updatedAt"] != seen:
            phase.delays_ms.append((received - _stamp_s(body["updatedAt"])) * 1000)
        seen = body["updatedAt"]
        if not long_poll and status not in TERMINAL:
            await asyncio.sleep(PLAIN_INTERVAL_S)


async def run_phase(name: str, web: WebServer, clients: int, job_seconds: float, long_poll: bool) -> Phase:
    store = await get_job_store()
    phase = Phase(name, clients)
    web_process = psutil.Process(web.process.pid)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        jobs = [(await store.create_job(JOB_TYPE, {"seconds": job_seconds}))[0] for _ in range(clients)]
        cpu_before = sum(web_process.cpu_times()[:2])
        started = time.monotonic()
        await asyncio.gather(*(follow(session, web.base_url, job.id, long_poll, phase) for job in jobs))
        phase.wall_s = time.monotonic() - started
        phase.cpu_s = sum(web_process.cpu_times()[:2]) - cpu_before
    return phase


async def measure_waiters(web: WebServer, waiters: int) -> tuple[float, float]:
    """The web process's RSS (MB) before and while ``waiters`` long-polls wait on jobs nobody runs."""
    store = await get_job_store()
    web_process = psutil.Process(web.process.pid)
    jobs = [(await store.create_job(IDLE_JOB_TYPE, {}))[0] for _ in range(waiters)]
    rss_before = web_process.memory_info().rss / 2**20
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def wait(job: Job) -> int:
            params = {"waitForChange": iso_utc(job.updated_at), "timeout": str(WAITER_TIMEOUT_S)}
            async with session.get(f"{web.base_url}/api/audio/jobs/{job.id}", params=params) as response:
                await response.read()
                return response.status

        tasks = [asyncio.create_task(wait(job)) for job in jobs]
        await asyncio.sleep(WAITER_TIMEOUT_S / 2)
        waiting = sum(not task.done() for task in tasks)
        rss_waiting = web_process.memory_info().rss / 2**20
        statuses = await asyncio.gather(*tasks)
    if waiting != waiters or set(statuses) != {200}:
        print(f"warning: {waiting} of {waiters} were waiting at the measurement; statuses {set(statuses)}")
    return rss_before, rss_waiting


@contextmanager
def store_environment(backend: str, folder: Path) -> Iterator[dict[str, str]]:
    env = {**os.environ, "JOB_STORE_PATH": str(folder / "jobs.sqlite3"), "MEDIA_ROOT": str(folder / "media")}
    env.update(LOG_LEVEL="WARNING", ACCESS_LOG="0")
    if backend == "local":
        env["JOB_STORE_BACKEND"] = "local"
        yield env
        return
    with running_sqld(folder / "sqld") as server:
        env.update(JOB_STORE_BACKEND="turso", TURSO_DATABASE_URL=server.url("http"))
        yield env


async def run(args: argparse.Namespace) -> list[Phase]:
    with tempfile.TemporaryDirectory(prefix="longpoll-bench-") as tmp:
        folder = Path(tmp)
        with store_environment(args.backend, folder) as env:
            os.environ.update(env)
            worker_flags = ["--concurrency", str(args.clients)]
            for option in ("progress_first_s", "progress_interval_s"):
                if getattr(args, option) is not None:
                    worker_flags += ["--" + option.replace("_", "-"), str(getattr(args, option))]
            with running_web_server(env) as web, worker_processes(folder, env) as start_worker:
                start_worker(*worker_flags, handlers="bench.longpoll_bench")
                # Warm-up: a few jobs followed each way, unmeasured.
                await run_phase("warm-up", web, 10, 1.0, long_poll=True)
                await run_phase("warm-up", web, 10, 1.0, long_poll=False)
                plain = await run_phase("plain 1 s polling", web, args.clients, args.job_seconds, long_poll=False)
                long = await run_phase("long-polling", web, args.clients, args.job_seconds, long_poll=True)
                rss_before, rss_waiting = await measure_waiters(web, args.waiters)
                if plain.errors or long.errors:
                    print("errors; the web process's log ends with:")
                    print(web.log_path.read_text(errors="replace")[-3000:])
            await close_job_store()
    print_report(args, plain, long, rss_before, rss_waiting)
    return [plain, long]


def fields_by_name(cls: type) -> dict[str, Field[Any]]:
    return {item.name: item for item in fields(cls)}


def print_report(args: argparse.Namespace, plain: Phase, long: Phase, rss_before: float, rss_waiting: float) -> None:
    defaults = fields_by_name(WorkerSettings)
    first_s, interval_s = (
        defaults[option].default if getattr(args, option) is None else getattr(args, option)
        for option in ("progress_first_s", "progress_interval_s")
    )
    schedule = "the worker's default" if args.progress_first_s is None and args.progress_interval_s is None else "set"
    print(
        f"\n{args.clients} clients, jobs of {args.job_seconds:g} s, progress first written {first_s:g} s after the "
        f"claim, then every {interval_s:g} s ({schedule}), backend {args.backend}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print("| mode | requests/job | web CPU ms/job | delay p50 ms | delay p90 ms | changes seen/job | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for phase in (plain, long):
        print(
            f"| {phase.name} | {phase.requests_per_job():.1f} | {phase.cpu_ms_per_job():.1f} | "
            f"{phase.delay_ms(0.5):.0f} | {phase.delay_ms(0.9):.0f} | {len(phase.delays_ms) / phase.jobs:.1f} | "
            f"{phase.errors} |"
        )
    print(
        f"| ratio plain / long | {plain.requests_per_job() / long.requests_per_job():.1f}x | "
        f"{plain.cpu_ms_per_job() / max(long.cpu_ms_per_job(), 1e-9):.1f}x | | | | |"
    )
    print(f"\nweb RSS: {rss_before:.0f} MB idle, {rss_waiting:.0f} MB with {args.waiters} long-polls waiting")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--job-seconds", type=float, default=60.0)
    parser.add_argument("--progress-first-s", type=float, help="the worker's WORKER_PROGRESS_FIRST_S")
    parser.add_argument("--progress-interval-s", type=float, help="the worker's WORKER_PROGRESS_INTERVAL_S")
    parser.add_argument("--waiters", type=int, default=1000)
    parser.add_argument("--backend", choices=("local", "sqld"), default="local")
    args = parser.parse_args()
    asyncio.run(run(args))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
