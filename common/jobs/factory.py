"""The one way to reach the job store: ``store = await get_job_store()``.

Selection: ``JOB_STORE_BACKEND`` (``local`` or ``turso``) wins; otherwise ``DEPLOY_ENV`` of ``production``,
``staging`` or ``preview`` means turso and anything else local. Turso without ``TURSO_DATABASE_URL`` is an error,
never a silent fall-back to a local file: that is how a web and a worker end up on different stores.
"""

from __future__ import annotations

import asyncio
import logging
import os

from common.config import job_max_attempts, local_store_path
from common.errors import ConfigurationError
from common.jobs.store import JobStore

logger = logging.getLogger(__name__)

BACKENDS = ("local", "turso")
TURSO_DEPLOY_ENVS = frozenset({"production", "staging", "preview"})

_store: JobStore | None = None
_opening: asyncio.Future[JobStore] | None = None


def selected_backend() -> str:
    """The backend the environment asks for; raises ``ConfigurationError`` for an unknown name."""
    configured = os.environ.get("JOB_STORE_BACKEND", "").strip().lower()
    if configured:
        if configured not in BACKENDS:
            raise ConfigurationError(
                f"JOB_STORE_BACKEND={configured!r} is not a job store backend; use one of: {', '.join(BACKENDS)}"
            )
        return configured
    deploy_env = os.environ.get("DEPLOY_ENV", "").strip().lower()
    return "turso" if deploy_env in TURSO_DEPLOY_ENVS else "local"


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


async def get_job_store() -> JobStore:
    """This process's store, opened on first use. Concurrent first calls share one opening, so one store; a
    ``close_job_store()`` while it opens closes that store, and the callers still waiting open a fresh one."""
    global _store, _opening
    while True:
        if _store is not None:
            return _store
        if _opening is None:
            _opening = asyncio.ensure_future(open_configured_store())
        opening = _opening
        try:
            # Shielded: a caller that gives up must not cancel the opening the others are waiting for.
            store = await asyncio.shield(opening)
        except BaseException:
            if _opening is opening and opening.done():
                _opening = None
            raise
        if _opening is opening:
            _store, _opening = store, None
            logger.info(
                "job store: backend %s, location %s, store id %s", store.backend, store.location, store.store_id
            )
            return store
        if _store is store:
            return store
        # close_job_store() took this store while it opened: it is closed, so it must not be handed out.


async def close_job_store() -> None:
    """Close this process's store (if one was opened); the next ``get_job_store()`` opens a fresh one."""
    global _store, _opening
    store, opening = _store, _opening
    _store, _opening = None, None
    if store is None and opening is not None:
        try:
            store = await opening
        except Exception:
            return
    if store is not None:
        await store.close()
