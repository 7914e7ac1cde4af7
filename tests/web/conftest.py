"""Fixtures for the web tests.

``client`` is parametrised: every test that takes it runs once in-process (httpx over ASGI, the app's lifespan
entered by hand) and once through real HTTP against ``python -m web`` on a free port. Either way the test's own
``await get_job_store()`` reaches the same store the app uses, so tests move jobs through their states with the
store's real methods (no worker runs here).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest

from common.jobs import JobStore, get_job_store
from tests.support.web_server import WebServer, running_web_server
from web.app import create_app


@pytest.fixture
def web_server() -> Iterator[WebServer]:
    with running_web_server() as server:
        yield server


@asynccontextmanager
async def in_process_client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client


@pytest.fixture(params=["in_process", "real_http"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    if request.param == "in_process":
        async with in_process_client() as asgi_client:
            yield asgi_client
        return
    with running_web_server() as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http_client:
            yield http_client


@pytest.fixture
async def store() -> JobStore:
    return await get_job_store()
