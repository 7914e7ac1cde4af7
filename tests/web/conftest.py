"""Fixtures for the web tests.

``client`` is httpx over ASGI with the app's lifespan entered by hand: in-process, so a test costs no server
start. A test whose claim depends on the wire (streamed request bodies, byte ranges, headers as uvicorn sends
them) is marked ``@pytest.mark.over_http`` and runs twice: in-process and through real HTTP against
``python -m web`` on a free port. Either way the test's own ``await get_job_store()`` reaches the same store the
app uses, so tests move jobs through their states with the store's real methods (no worker runs here).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest

from common.jobs import JobStore, get_job_store
from tests.conftest import STORE_ENV_VARIABLES
from tests.support.web_server import WebServer, running_web_server
from web.app import create_app

OVER_HTTP = "over_http"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{OVER_HTTP}: the test's ``client`` also runs through real HTTP against python -m web"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "client" in metafunc.fixturenames:
        transports = (
            ["in_process", "real_http"] if metafunc.definition.get_closest_marker(OVER_HTTP) else ["in_process"]
        )
        metafunc.parametrize("client", transports, indirect=True)


@pytest.fixture
def web_server() -> Iterator[WebServer]:
    with running_web_server() as server:
        yield server


@pytest.fixture(scope="module")
def shared_web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """One ``python -m web`` for a whole module, on a store and MEDIA_ROOT of its own (not the test's): for tests
    that only talk HTTP to it, such as the fuzzer's hundreds of requests."""
    folder = tmp_path_factory.mktemp("shared-web-server")
    env = {name: value for name, value in os.environ.items() if name not in STORE_ENV_VARIABLES}
    env.update(JOB_STORE_PATH=str(folder / "jobs.sqlite3"), MEDIA_ROOT=str(folder / "media"))
    with running_web_server(env) as server:
        yield server


@asynccontextmanager
async def in_process_client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        yield client


@pytest.fixture
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
