"""Stopping a child process the same way everywhere: SIGTERM, then SIGKILL when it outlives its grace period."""

from __future__ import annotations

import subprocess

STOP_TIMEOUT_S = 10.0


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> int:
    """Stop ``process`` (if it still runs) and return its exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            return process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()
