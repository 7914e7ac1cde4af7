"""The app under test: ``python -m web`` and ``python -m workers`` with the real handlers, on the environment's
store and MEDIA_ROOT (the root conftest gives each test its own)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.web_server import WebServer, running_web_server
from tests.support.worker_process import WorkerProcess, worker_processes

# Quick cancels and claims keep the tests short; everything else is the worker's default.
WORKER_ARGS = (
    "--heartbeat-s",
    "0.3",
    "--poll-max-s",
    "0.2",
    "--progress-first-s",
    "0.2",
    "--progress-interval-s",
    "0.2",
)


@dataclass(frozen=True)
class RunningApp:
    web: WebServer
    worker: WorkerProcess

    @property
    def url(self) -> str:
        return self.web.base_url + "/"

    async def get_json(self, path: str) -> Any:
        """A GET on the app's API, for checking what the page shows against what the server says."""
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(self.web.url(path))
        response.raise_for_status()
        return response.json()

    def logs(self) -> str:
        return f"--- web log ---\n{self.web.log()[-6000:]}\n--- worker log ---\n{self.worker.log()[-6000:]}"


@contextmanager
def running_app(log_dir: Path) -> Iterator[RunningApp]:
    with running_web_server() as web, worker_processes(log_dir) as start_worker:
        worker = start_worker(*WORKER_ARGS, handlers="workers.handlers")
        worker.wait_for_log(" started: store backend", timeout_s=20)
        yield RunningApp(web=web, worker=worker)
