"""The one way to reach the job store: ``store = await get_job_store()``.

Selection: ``JOB_STORE_BACKEND`` (``local`` or ``turso``) wins; otherwise ``DEPLOY_ENV`` of ``production``,
``staging`` or ``preview`` means turso and anything else local. Turso without ``TURSO_DATABASE_URL`` is an error,
never a silent fall-back to a local file: that is how a web and a worker end up on different stores.
"""

from __future__ import annotations

import logging
import os

from common.config import job_max_attempts, local_store_path
from common.errors import ConfigurationError
from common.jobs.store import JobStore
from common.process_store import ProcessStore, backend_from_env

logger = logging.getLogger(__name__)

BACKENDS = ("local", "turso")


def selected_backend() -> str:
    """The backend the environment asks for; raises ``ConfigurationError`` for an unknown name."""
    return backend_from_env("JOB_STORE_BACKEND", BACKENDS, "turso", "job store")


async def open_configured_store() -> JobStore:
    """A new store as the environment describes it. Callers want ``get_job_store()`` instead."""
    backend = selected_backend()
    # Read here so a malformed value stops the process at start-up, not its first job creation.
    job_max_attempts()
    if backend == "turso":
        url = os.environ.get("TURSO_DATABASE_URL", "").strip()
        if not url:
            raise ConfigurationError(
                "the turso job store needs TURSO_DATABASE_URL (libsql://, wss://, ws://, https:// or http://); "
                "set it, or set JOB_STORE_BACKEND=local"
            )
        from common.jobs.turso import TursoJobStore

        return await TursoJobStore.open(url, auth_token=os.environ.get("TURSO_AUTH_TOKEN") or None)
    from common.jobs.local import LocalJobStore

    return await LocalJobStore.open(local_store_path())


_process_store: ProcessStore[JobStore] = ProcessStore("job store", lambda: open_configured_store(), logger)


async def get_job_store() -> JobStore:
    """This process's store, opened on first use (``common.process_store.ProcessStore``: one store however many
    callers ask at once, never one that was closed)."""
    return await _process_store.get()


async def close_job_store() -> None:
    """Close this process's store (if one was opened); the next ``get_job_store()`` opens a fresh one."""
    await _process_store.close()
