from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.worker_handlers import RECORD_DIR_VARIABLE
from tests.support.worker_process import WorkerStarter, worker_processes


@pytest.fixture
def record_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the test handlers record completed runs, for this process and every worker it starts."""
    folder = tmp_path / "runs"
    folder.mkdir()
    monkeypatch.setenv(RECORD_DIR_VARIABLE, str(folder))
    return folder


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[WorkerStarter]:
    """Starts real ``python -m workers`` processes with the test handlers; kills them all afterwards."""
    log_dir = tmp_path / "worker-logs"
    log_dir.mkdir()
    with worker_processes(log_dir) as starter:
        yield starter
