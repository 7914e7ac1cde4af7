"""Child processes the same way everywhere: stopping one (SIGTERM, then SIGKILL when it outlives its grace
period) and finding the dev extra's console scripts that start them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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


def dev_tool(name: str) -> str | None:
    """A console script of the dev extra: beside this Python first (its venv need not be on PATH), else on PATH."""
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.exists() else shutil.which(name)
