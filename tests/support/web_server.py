"""The real web process (``python -m web``) on a free loopback port, for tests that need real HTTP.

``running_web_server(env=...)`` starts it as a subprocess with the given environment (default: this process's,
which the test fixtures point at a fresh store and MEDIA_ROOT), waits until ``/healthz`` answers, yields a
``WebServer`` and stops the process (SIGTERM, then SIGKILL) however the test ends. Its output goes to a log
file whose tail is shown when it fails to start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.config import PROJECT_ROOT
from tests.support.ports import free_port
from tests.support.processes import stop_process

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
START_ATTEMPTS = 3


class WebServerError(RuntimeError):
    """The web process did not come up."""


@dataclass(frozen=True)
class WebServer:
    base_url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url("/healthz"), timeout=5) as response:  # noqa: S310 (loopback only)
            return json.loads(response.read())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, timeout_s: float) -> bool:
    """True once ``/healthz`` answers 200; False if the process exited first (e.g. the port was taken)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2) as response:  # noqa: S310 (loopback only)
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise WebServerError(f"the web process did not answer /healthz within {timeout_s:.0f} s")


@contextmanager
def running_web_server(
    env: Mapping[str, str] | None = None, *, start_timeout_s: float = START_TIMEOUT_S
) -> Iterator[WebServer]:
    """``python -m web`` on 127.0.0.1 and a free port with ``env`` (``PORT``/``HOST`` are set here)."""
    base_env = dict(os.environ if env is None else env)
    with tempfile.TemporaryDirectory(prefix="web-server-") as log_dir:
        log_path = Path(log_dir) / "web.log"
        for _attempt in range(START_ATTEMPTS):
            port = free_port()
            process_env = {**base_env, "HOST": "127.0.0.1", "PORT": str(port), "PYTHONUNBUFFERED": "1"}
            with log_path.open("ab") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "web"], cwd=PROJECT_ROOT, env=process_env, stdout=log, stderr=log
                )
            base_url = f"http://127.0.0.1:{port}"
            try:
                if _wait_until_healthy(process, base_url, start_timeout_s):
                    break
            except BaseException:
                stop_process(process, STOP_TIMEOUT_S)
                raise
            # The process exited: most likely another test took the port between free_port() and bind.
            stop_process(process, STOP_TIMEOUT_S)
        else:
            tail = log_path.read_text(errors="replace")[-4000:]
            raise WebServerError(f"the web process exited during start-up:\n{tail}")
        try:
            yield WebServer(base_url=base_url, port=port, process=process, log_path=log_path)
        finally:
            stop_process(process, STOP_TIMEOUT_S)
