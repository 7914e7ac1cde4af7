"""A handler's scratch folder: made under ``WORKER_SCRATCH_DIR``, removed however the handler ends, and never
removed under an audio thread that is still writing into it."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from common.errors import ConfigurationError
from workers.scratch import check_scratch_root, in_thread, scratch_folder


@pytest.fixture
def scratch_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "scratch"
    monkeypatch.setenv("WORKER_SCRATCH_DIR", str(root))
    return root


async def test_the_folder_is_made_under_the_setting_and_removed_after_an_error(scratch_root: Path) -> None:
    made: list[Path] = []

    async def failing_handler() -> None:
        async with scratch_folder("job1") as folder:
            made.append(folder)
            (folder / "input").write_bytes(b"x" * 1000)
            raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError, match="handler failed"):
        await failing_handler()
    assert made[0].parent == scratch_root
    assert os.listdir(scratch_root) == []


class ThreadContext:
    """The one part of a job context that ``in_thread`` uses."""

    async def run_in_thread(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)


async def test_a_cancelled_handler_waits_for_its_thread_before_removing_the_folder(scratch_root: Path) -> None:
    release = threading.Event()
    started = asyncio.Event()
    loop = asyncio.get_running_loop()

    def audio_work(folder: Path) -> None:
        loop.call_soon_threadsafe(started.set)
        release.wait(5)
        # What an engine call does as it starts writing its output.
        (folder / "out").mkdir(parents=True, exist_ok=True)
        (folder / "out" / "master.flac").write_bytes(b"partial")

    async def handler() -> None:
        async with scratch_folder("job2") as folder:
            await in_thread(ThreadContext(), audio_work, folder)

    task = asyncio.create_task(handler())
    await started.wait()
    task.cancel()
    await asyncio.sleep(0.05)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert os.listdir(scratch_root) == []


def test_an_unusable_scratch_dir_stops_the_worker_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("WORKER_SCRATCH_DIR", str(blocker / "scratch"))
    with pytest.raises(ConfigurationError, match="WORKER_SCRATCH_DIR"):
        check_scratch_root()
