"""``create_app()``: the Starlette application, its lifespan (the job and media stores) and its middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware

from common.jobs import close_job_store, get_job_store
from common.jobs.factory import selected_backend
from common.media_store import check_media_identity, close_media_store, get_media_store
from web import metrics, openapi, static_files
from web.auth import BearerTokenMiddleware, configured_token
from web.errors import EXCEPTION_HANDLERS
from web.inputs import max_json_bytes
from web.longpoll import JobChangeWatcher, answer_waiters_on_exit_signals
from web.peaks_cache import RescaledPeaksCache, peaks_cache_bytes
from web.routes import ROUTES
from web.session import session_settings
from web.signin_limit import FailedSignIns
from web.store_deadline import StoreDeadlineMiddleware, deadline_applies, media_account_job_store, store_deadline_s
from web.uploads import max_upload_bytes

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    # Opened at start-up so a misconfigured store stops the process at once instead of failing every request.
    job_store = await get_job_store()
    try:
        media_store = await get_media_store()
        await check_media_identity(job_store, media_store)
        media_store.account_through(media_account_job_store)
        watcher = JobChangeWatcher(job_store)
        app.state.job_watcher = watcher
        try:
            with answer_waiters_on_exit_signals(watcher):
                yield
        finally:
            watcher.close()
    finally:
        await close_media_store()
        await close_job_store()


def create_app() -> Starlette:
    # Read once here so a malformed limit stops the process at start-up rather than failing requests later.
    max_upload_bytes()
    max_json_bytes()
    static_files.register_content_types()
    token = configured_token()
    sessions = session_settings(token) if token else None
    deadline_s = store_deadline_s()
    middleware = []
    if deadline_applies(selected_backend()):
        middleware.append(Middleware(StoreDeadlineMiddleware, deadline_s=deadline_s))
    if token and sessions:
        middleware.append(Middleware(BearerTokenMiddleware, token=token, sessions=sessions))
    if not token:
        logger.info("API_TOKEN is not set: /api and /media are open")
    app = Starlette(
        routes=[*ROUTES, *metrics.ROUTES, *openapi.ROUTES, *static_files.ROUTES],
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.rescaled_peaks = RescaledPeaksCache(peaks_cache_bytes())
    app.state.sessions = sessions
    app.state.failed_signins = FailedSignIns()
    return app
