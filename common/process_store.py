"""What the job store and the media store factories share: one rule for choosing a backend from the environment,
and one store per process.

Both stores are chosen alike: the store's own variable (``JOB_STORE_BACKEND``, ``MEDIA_BACKEND``) wins; otherwise a
``DEPLOY_ENV`` of ``production``, ``staging`` or ``preview`` means the shared backend and anything else ``local``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

from common.errors import ConfigurationError

SHARED_DEPLOY_ENVS = frozenset({"production", "staging", "preview"})


def backend_from_env(variable: str, backends: tuple[str, ...], shared_backend: str, what: str) -> str:
    """The backend ``variable`` names, else the one ``DEPLOY_ENV`` implies; an unknown name is a
    ``ConfigurationError``."""
    configured = os.environ.get(variable, "").strip().lower()
    if configured:
        if configured not in backends:
            raise ConfigurationError(
                f"{variable}={configured!r} is not a {what} backend; use one of: {', '.join(backends)}"
            )
        return configured
    deploy_env = os.environ.get("DEPLOY_ENV", "").strip().lower()
    return shared_backend if deploy_env in SHARED_DEPLOY_ENVS else "local"


class Store(Protocol):
    @property
    def backend(self) -> str: ...

    @property
    def location(self) -> str: ...

    @property
    def store_id(self) -> str: ...

    async def close(self) -> None: ...


S = TypeVar("S", bound=Store)


class ProcessStore(Generic[S]):
    """One store per process, opened by ``open_store`` on first use and logged once on ``logger`` (the factory's).

    Concurrent first calls share one opening, so one store; a ``close()`` while it opens closes that store, and
    the callers still waiting open a fresh one, so a closed store is never handed out.
    """

    def __init__(self, what: str, open_store: Callable[[], Awaitable[S]], logger: logging.Logger) -> None:
        self._what = what
        self._logger = logger
        self._open_store = open_store
        self._store: S | None = None
        self._opening: asyncio.Future[S] | None = None

    async def get(self) -> S:
        while True:
            if self._store is not None:
                return self._store
            if self._opening is None:
                self._opening = asyncio.ensure_future(self._open_store())
            opening = self._opening
            try:
                # Shielded: a caller that gives up must not cancel the opening the others are waiting for.
                store = await asyncio.shield(opening)
            except BaseException:
                if self._opening is opening and opening.done():
                    self._opening = None
                raise
            if self._opening is opening:
                self._store, self._opening = store, None
                self._logger.info(
                    "%s: backend %s, location %s, store id %s",
                    *(self._what, store.backend, store.location, store.store_id),
                )
                return store
            if self._store is store:
                return store
            # close() took this store while it opened: it is closed, so it must not be handed out.

    async def close(self) -> None:
        """Close the store (if one was opened); the next ``get()`` opens a fresh one."""
        store, opening = self._store, self._opening
        self._store, self._opening = None, None
        if store is None and opening is not None:
            try:
                store = await opening
            except Exception:
                return
        if store is not None:
            await store.close()
