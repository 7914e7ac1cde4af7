"""Fixtures shared by every test.

- ``isolated_job_env`` (autouse): each test gets its own job store file and ``MEDIA_ROOT`` under ``tmp_path``, no
  inherited store/deploy/API/media settings, and the process's job and media stores are closed after the test.
- ``store_env``: parametrised ``local`` / ``turso-http`` / ``turso-ws``; sets the environment so that
  ``get_job_store()`` (and any subprocess started with ``os.environ``) reaches that backend on a fresh, empty
  database (a real sqld per test for turso), and yields the backend name.
- ``seaweedfs`` (session): one real SeaweedFS with signing enforced; it takes seconds to start, so tests share it
  and keep apart by bucket.
- ``media_env``: parametrised ``local`` / ``s3``; sets the environment so that ``get_media_store()`` (and any
  subprocess started with ``os.environ``) reaches that backend on a fresh, empty store (a new bucket for s3), and
  yields the backend name.
- ``tests.support.ports.free_port()`` finds a free loopback port; ``tests.support.sqld`` starts a real sqld.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from common.jobs import close_job_store
from common.media_store import close_media_store
from tests.support.s3_media import new_bucket, use_s3
from tests.support.seaweedfs import SeaweedFSServer, running_seaweedfs
from tests.support.sqld import running_sqld

STORE_ENV_VARIABLES = ("JOB_STORE_BACKEND", "DEPLOY_ENV", "TURSO_DATABASE_URL", "TURSO_AUTH_TOKEN", "API_TOKEN")
MEDIA_ENV_VARIABLES = (
    "MEDIA_BACKEND",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)
STORE_BACKENDS = ("local", "turso-http", "turso-ws")
MEDIA_BACKENDS = ("local", "s3")


@pytest.fixture(autouse=True)
async def isolated_job_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    for name in STORE_ENV_VARIABLES + MEDIA_ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JOB_STORE_PATH", str(tmp_path / "jobs.sqlite3"))
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "media"))
    yield
    await close_media_store()
    await close_job_store()


@pytest.fixture(params=STORE_BACKENDS)
async def store_env(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[str]:
    backend: str = request.param
    if backend == "local":
        monkeypatch.setenv("JOB_STORE_BACKEND", "local")
        yield backend
        return
    transport = backend.removeprefix("turso-")
    with running_sqld(tmp_path / "sqld") as server:
        monkeypatch.setenv("JOB_STORE_BACKEND", "turso")
        monkeypatch.setenv("TURSO_DATABASE_URL", server.url(transport))
        yield backend
        # The store must be closed while its server still runs, so the client shuts down cleanly.
        await close_job_store()


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFSServer]:
    with running_seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture(params=MEDIA_BACKENDS)
async def media_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    backend: str = request.param
    if backend == "s3":
        # Requested only here, so a run of local tests alone never starts the server.
        server: SeaweedFSServer = request.getfixturevalue("seaweedfs")
        use_s3(monkeypatch, server, new_bucket(server))
    else:
        monkeypatch.setenv("MEDIA_BACKEND", "local")
    yield backend
    await close_media_store()
