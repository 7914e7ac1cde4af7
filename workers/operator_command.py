"""What every operator command (``jobs``, ``media-gc``, ``media-usage``) shares: both stores closed when it ends,
and one exit code and one line on stderr per kind of failure, so scripts can tell them apart.

Exit codes: 0 done; 1 the command's own "no" (a refused change, orphans found); 2 usage or configuration error;
3 a store could not be reached or failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TextIO

from common.errors import AppError, ConfigurationError, StoreError
from common.jobs import close_job_store
from common.logs import configure_logging
from common.media_store import MediaStoreError, close_media_store

EXIT_OK = 0
EXIT_NO = 1
EXIT_USAGE = 2
EXIT_STORE = 3


async def _run_and_close(command: Callable[[], Awaitable[int]]) -> int:
    try:
        return await command()
    finally:
        await close_media_store()
        await close_job_store()


def run_operator_command(command: Callable[[], Awaitable[int]], err: TextIO) -> int:
    """Run ``command`` (returning its exit code) on a fresh event loop; a failure becomes its exit code."""
    # Only warnings and errors on stderr: stdout is the command's answer.
    configure_logging(logging.WARNING)
    try:
        return asyncio.run(_run_and_close(command))
    except ConfigurationError as exc:
        print(f"configuration error: {exc.message}", file=err)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"job store error ({exc.code}): {exc.message}", file=err)
        return EXIT_STORE
    except MediaStoreError as exc:
        print(f"media store error ({exc.code}): {exc.message}", file=err)
        return EXIT_STORE
    except AppError as exc:
        print(f"error ({exc.code}): {exc.message}", file=err)
        return EXIT_STORE
