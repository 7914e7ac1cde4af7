"""Poll throughput: ``GET /api/audio/jobs/{id}`` on the real web process against a local store holding 100,000
jobs, side by side in the same run with a bare Starlette JSON endpoint under the same uvicorn settings.

    .venv/bin/python -m bench.poll_bench [--jobs 100000] [--duration 8] [--connections 32] [--rounds 3]

Both servers are one uvicorn process each, started with ``web.__main__.uvicorn_options()`` (same loop, same HTTP
implementation, same logging, same garbage-collector settings), on 127.0.0.1. Load comes from ``wrk`` (one thread,
a Lua script cycling through 1,000 different job ids). Each server first gets an unmeasured warm-up run, so that
neither round 1 pays for cold caches (the store's pages, lazily built code paths) that later rounds do not; then the
two servers are measured in alternating rounds so that a noisy neighbour on the machine hurts both alike, and the
best round of each is compared. The target ratio is at least 0.6.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from common.config import PROJECT_ROOT
from tests.support.processes import stop_process

SAMPLE_IDS = 1000
WRK_THREADS = 1
WARM_UP_S = 2
POLL_PATH = "/api/audio/jobs/{job_id}"
# What a poll answers for a queued job, so both servers send bodies of the same size.
BARE_BODY = {
    "jobId": "0" * 32,
    "type": "ingest",
    "status": "queued",
    "progress": 0.0,
    "result": None,
    "error": None,
    "createdAt": "2026-11-29T13:08:42.123Z",
    "updatedAt": "2026-11-29T13:08:42.123Z",
}


async def bare_poll(request: Request) -> Response:
    return JSONResponse({**BARE_BODY, "jobId": request.path_params["jobId"]})


def create_bare_app() -> Starlette:
    return Starlette(routes=[Route("/api/audio/jobs/{jobId}", bare_poll, methods=["GET"])])


def serve_bare(port: int) -> None:
    import uvicorn

    from web.__main__ import configure_logging, tune_garbage_collector, uvicorn_options

    configure_logging()
    tune_garbage_collector()
    uvicorn.run("bench.poll_bench:create_bare_app", factory=True, host="127.0.0.1", port=port, **uvicorn_options())


async def fill_store(job_count: int) -> list[str]:
    """``job_count`` jobs of every type and status, created with the store's own methods; returns their ids."""
    from common.jobs import JobType, close_job_store, get_job_store

    store = await get_job_store()
    types = list(JobType)
    ids: list[str] = []
    batch = 500
    try:
        for start in range(0, job_count, batch):
            created = await asyncio.gather(
                *(
                    store.create_job(types[index % len(types)], {"assetId": f"{index:032x}"})
                    for index in range(start, min(start + batch, job_count))
                )
            )
            ids.extend(job.id for job, _ in created)
        # Some of them running and finished, as on a real store.
        for _ in range(min(2000, job_count // 10)):
            claimed = await store.claim_next_job("bench", lease_s=600)
            if claimed is None or claimed.lease_token is None:
                break
            await store.complete_job(claimed.id, claimed.lease_token, {"assetId": claimed.payload["assetId"]})
        for job_id in random.sample(ids, min(1000, len(ids))):
            await store.cancel_job(job_id)
    finally:
        await close_job_store()
    return ids


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(command: list[str], env: dict[str, str], port: int, probe_path: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{probe_path}", timeout=2):
                return process
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("server did not start")


def write_wrk_script(folder: Path, job_ids: list[str]) -> Path:
    paths = ",\n".join(f'  "{POLL_PATH.format(job_id=job_id)}"' for job_id in job_ids)
    script = folder / "polls.lua"
    script.write_text(
        f"local paths = {{\n{paths}\n}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
    )
    return script


@dataclass(frozen=True)
class Round:
    rate_per_s: float
    cpu_us_per_request: float
    latency: str


def run_wrk(port: int, server: psutil.Process, script: Path, duration_s: int, connections: int) -> Round:
    """One wrk run; the server's own CPU time per request is measured alongside, since on a busy machine
    requests per second depend on how much CPU the scheduler happens to give the server."""
    cpu_before = server.cpu_times()
    output = subprocess.run(
        [
            "wrk",
            f"-t{WRK_THREADS}",
            f"-c{connections}",
            f"-d{duration_s}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu_after = server.cpu_times()
    rate = float(_match(r"Requests/sec:\s+([\d.]+)", output))
    requests = int(_match(r"(\d+) requests in", output))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if errors or requests == 0:
        raise RuntimeError(f"wrk saw failed requests:\n{output}")
    cpu_s = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    return Round(rate, cpu_s / requests * 1e6, _match(r"Latency\s+(\S+)", output))


def _match(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    if found is None:
        raise RuntimeError(f"unexpected wrk output:\n{text}")
    return found.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=8, help="seconds per round and server")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian package 'wrk')")

    with tempfile.TemporaryDirectory(prefix="poll-bench-") as folder:
        env = {
            **os.environ,
            "JOB_STORE_BACKEND": "local",
            "JOB_STORE_PATH": str(Path(folder) / "jobs.sqlite3"),
            "MEDIA_ROOT": str(Path(folder) / "media"),
            "LOG_LEVEL": "WARNING",
        }
        env.pop("API_TOKEN", None)
        os.environ.update({name: env[name] for name in ("JOB_STORE_BACKEND", "JOB_STORE_PATH", "MEDIA_ROOT")})
        started = time.perf_counter()
        job_ids = asyncio.run(fill_store(args.jobs))
        print(f"store: {len(job_ids)} jobs in {time.perf_counter() - started:.1f} s at {env['JOB_STORE_PATH']}")
        script = write_wrk_script(Path(folder), random.sample(job_ids, min(SAMPLE_IDS, len(job_ids))))
        probe = POLL_PATH.format(job_id=job_ids[0])

        web_port, bare_port = free_port(), free_port()
        servers = {
            "web (store)": start_server([sys.executable, "-m", "web"], {**env, "PORT": str(web_port)}, web_port, probe),
            "bare Starlette": start_server(
                [sys.executable, "-m", "bench.poll_bench", "--serve-bare", str(bare_port)], env, bare_port, probe
            ),
        }
        ports = {"web (store)": web_port, "bare Starlette": bare_port}
        rounds: dict[str, list[Round]] = {name: [] for name in servers}
        try:
            for name in ("bare Starlette", "web (store)"):
                run_wrk(ports[name], psutil.Process(servers[name].pid), script, WARM_UP_S, args.connections)
            for round_number in range(1, args.rounds + 1):
                for name in ("bare Starlette", "web (store)"):
                    result = run_wrk(
                        ports[name], psutil.Process(servers[name].pid), script, args.duration, args.connections
                    )
                    rounds[name].append(result)
                    print(
                        f"round {round_number}  {name:15s} {result.rate_per_s:8.0f} req/s  "
                        f"{result.cpu_us_per_request:6.1f} us server CPU/request  (mean latency {result.latency})"
                    )
        finally:
            for process in servers.values():
                stop_process(process)
        web, bare = rounds["web (store)"], rounds["bare Starlette"]
        best_web, best_bare = max(r.rate_per_s for r in web), max(r.rate_per_s for r in bare)
        cpu_web = statistics.median(r.cpu_us_per_request for r in web)
        cpu_bare = statistics.median(r.cpu_us_per_request for r in bare)
        print(
            f"\nwrk -t{WRK_THREADS} -c{args.connections} -d{args.duration}s after a {WARM_UP_S} s warm-up, "
            f"uvicorn 1 process, {_describe_settings()}, {len(job_ids)} jobs in the store, "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        print(
            f"requests/s, best of {args.rounds}: web {best_web:.0f}, bare {best_bare:.0f}, "
            f"ratio {best_web / best_bare:.2f}"
        )
        print(
            f"server CPU per request, median: web {cpu_web:.1f} us, bare {cpu_bare:.1f} us, "
            f"requests per CPU-second ratio {cpu_bare / cpu_web:.2f}"
        )
        print("target: ratio >= 0.6")


def _describe_settings() -> str:
    from web.__main__ import uvicorn_options

    options = uvicorn_options()
    return f"loop={options['loop']} http={options['http']}"


if __name__ == "__main__":
    main()
