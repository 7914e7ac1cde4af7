"""Real ``python -m workers`` processes for tests: started with a given environment and flags, stopped by PID.

``WorkerProcess`` writes the process's log to a file, so a test can wait for a log line (``wait_for_log``) and
show the log when it fails. ``worker_processes()`` is a context manager that kills every worker it started, even
when the test fails.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from common.config import PROJECT_ROOT
from common.jobs import Job, JobStore
from tests.support.processes import stop_process

TEST_HANDLERS = "tests.support.worker_handlers"
STOP_TIMEOUT_S = 10.0


class WorkerProcess:
    def __init__(self, args: list[str], env: Mapping[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in ``wait``/``kill``
        self.process = subprocess.Popen(
            [sys.executable, "-m", "workers", *args],
            cwd=PROJECT_ROOT,
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, text: str, timeout_s: float = 20.0) -> None:
        """Wait until ``text`` appears in the log; fails (with the log) if the process exits or time runs out."""
        deadline = time.monotonic() + timeout_s
        while text not in self.log():
            if self.process.poll() is not None:
                raise AssertionError(
                    f"worker exited ({self.process.returncode}) before logging {text!r}:\n{self.log()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"worker did not log {text!r} within {timeout_s} s:\n{self.log()}")
            time.sleep(0.02)

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL: the process dies at once, leaving its jobs running in the store with a lease."""
        if self.process.poll() is None:
            self.process.kill()
        self.wait()

    def wait(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        try:
            return self.process.wait(timeout=timeout_s)
        finally:
            self._log.close()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited after ``STOP_TIMEOUT_S``."""
        try:
            stop_process(self.process, STOP_TIMEOUT_S)
        finally:
            self._log.close()


@contextmanager
def worker_processes(log_dir: Path, env: Mapping[str, str] | None = None) -> Iterator[WorkerStarter]:
    """Yields a function that starts a worker with extra flags (and environment); all are killed at the end.
    Without ``env`` each worker gets the test process's environment as it is when the worker starts."""
    starter = WorkerStarter(log_dir, env)
    try:
        yield starter
    finally:
        for worker in starter.started:
            worker.kill()


class WorkerStarter:
    def __init__(self, log_dir: Path, env: Mapping[str, str] | None) -> None:
        self.log_dir = log_dir
        self.env = env
        self.started: list[WorkerProcess] = []

    def __call__(
        self, *args: str, env: Mapping[str, str] | None = None, handlers: str = TEST_HANDLERS
    ) -> WorkerProcess:
        # The environment is read now, not when the starter was made, so fixtures that set it apply.
        merged = {**(os.environ if self.env is None else self.env), **(env or {})}
        merged.setdefault("PYTHONUNBUFFERED", "1")
        log_path = self.log_dir / f"worker-{len(self.started) + 1}.log"
        worker = WorkerProcess(["--handlers", handlers, *args], merged, log_path)
        self.started.append(worker)
        return worker


async def wait_for_job(
    store: JobStore, job_id: str, until: Callable[[Job], bool], timeout_s: float = 20.0, interval_s: float = 0.02
) -> Job:
    """Poll the store until ``until(job)`` holds; fails with the job's last state when time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        job = await store.get_job(job_id)
        if job is not None and until(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} did not reach the expected state within {timeout_s} s: {job}")
        await asyncio.sleep(interval_s)


def is_finished(job: Job) -> bool:
    return job.status.is_terminal
