"""``create_app()``: the Starlette application, its lifespan (the job store) and its middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware

from common.jobs import close_job_store, get_job_store
from web import metrics, openapi, static_files
from web.auth import BearerTokenMiddleware, configured_token
from web.errors import EXCEPTION_HANDLERS
from web.inputs import max_json_bytes
from web.longpoll import JobChangeWatcher, answer_waiters_on_exit_signals
from web.routes import ROUTES
from web.uploads import max_upload_bytes

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    # Opened at start-up so a misconfigured store stops the process at once instead of failing every request.
    watcher = JobChangeWatcher(await get_job_store())
    app.state.job_watcher = watcher
    try:
        with answer_waiters_on_exit_signals(watcher):
            yield
    finally:
        watcher.close()
        await close_job_store()


def create_app() -> Starlette:
    # Read once here so a malformed limit stops the process at start-up rather than failing requests later.
    max_upload_bytes()
    max_json_bytes()
    static_files.register_content_types()
    token = configured_token()
    middleware = [Middleware(BearerTokenMiddleware, token=token)] if token else []
    if not token:
        logger.info("API_TOKEN is not set: /api and /media are open")
    return Starlette(
        routes=[*ROUTES, *metrics.ROUTES, *openapi.ROUTES, *static_files.ROUTES],
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
