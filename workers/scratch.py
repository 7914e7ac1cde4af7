"""A job's scratch folder: its input fetched from the media store and its output before it is stored.

Each handler run gets a fresh folder (``tempfile.mkdtemp``) under ``WORKER_SCRATCH_DIR`` (default: the system's
temporary folder, ``TMPDIR``) and removes it when it ends, however it ends: the worker's disk holds nothing of a job
once its handler returns. Audio work runs in a thread that a cancelled handler cannot stop at once; ``in_thread``
waits for it (it stops at its next ``raise_if_cancelled``) so the folder is never removed under a running thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from common.errors import ConfigurationError
from workers.handler_protocol import JobContext

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: How long a cancelled handler waits for its audio thread before it removes the scratch folder anyway.
THREAD_STOP_WAIT_S = 10.0


def scratch_root() -> Path | None:
    """``WORKER_SCRATCH_DIR``, or ``None`` for the system's temporary folder."""
    configured = os.environ.get("WORKER_SCRATCH_DIR", "").strip()
    return Path(configured) if configured else None


def check_scratch_root() -> None:
    """Stop the worker at start-up when ``WORKER_SCRATCH_DIR`` cannot hold a job's files."""
    root = scratch_root()
    if root is None:
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
        Path(tempfile.mkdtemp(prefix="check-", dir=root)).rmdir()
    except OSError as exc:
        raise ConfigurationError(f"WORKER_SCRATCH_DIR={str(root)!r} cannot be used: {exc.strerror or exc}") from exc


def _make_folder(job_id: str) -> Path:
    root = scratch_root()
    if root is not None:
        root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"job-{job_id}-", dir=root))


@asynccontextmanager
async def scratch_folder(job_id: str) -> AsyncIterator[Path]:
    """A fresh folder for one handler run, removed with everything in it when the block ends."""
    folder = await asyncio.to_thread(_make_folder, job_id)
    try:
        yield folder
    finally:
        # Shielded: a cancelled handler must still leave nothing behind.
        await asyncio.shield(asyncio.to_thread(shutil.rmtree, folder, True))


async def in_thread(ctx: JobContext, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``ctx.run_in_thread``, except that a cancelled caller waits (bounded) for the thread to end first."""
    future = asyncio.ensure_future(ctx.run_in_thread(function, *args, **kwargs))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        done, _ = await asyncio.wait({future}, timeout=THREAD_STOP_WAIT_S)
        if not done:
            logger.warning("an audio thread is still running; its scratch folder is removed anyway")
        elif not future.cancelled():
            future.exception()
        raise
