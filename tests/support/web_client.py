"""The web app in this process, reached with httpx over ASGI: for tests that check what a client is served
without the cost of a web process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from web.app import create_app


@asynccontextmanager
async def in_process_web() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client
