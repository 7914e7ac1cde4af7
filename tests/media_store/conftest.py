"""Fixtures for the media store suites.

- ``seaweedfs`` (session): one real SeaweedFS with signing enforced; it takes seconds to start, so tests share it
  and keep apart by bucket.
- ``media_env``: parametrised ``local`` / ``s3``; sets the environment so that ``get_media_store()`` (and any
  subprocess started with ``os.environ``) reaches that backend on a fresh, empty store (a new bucket for s3).
- ``media_store``: this process's store for ``media_env``, reached through ``get_media_store()``.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from common.media_store import MediaStore, close_media_store, get_media_store
from tests.support.seaweedfs import SeaweedFSServer, running_seaweedfs

MEDIA_BACKENDS = ("local", "s3")


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFSServer]:
    with running_seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


def new_bucket(server: SeaweedFSServer) -> str:
    bucket = f"media-{secrets.token_hex(6)}"
    server.create_bucket(bucket)
    return bucket


def use_s3(monkeypatch: pytest.MonkeyPatch, server: SeaweedFSServer, bucket: str) -> None:
    """Point ``get_media_store()`` at ``bucket`` on ``server``, the way a deployment's variables would."""
    monkeypatch.setenv("MEDIA_BACKEND", "s3")
    monkeypatch.setenv("S3_BUCKET", bucket)
    monkeypatch.setenv("S3_ENDPOINT_URL", server.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_access_key)


@pytest.fixture(params=MEDIA_BACKENDS)
async def media_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    backend: str = request.param
    if backend == "s3":
        server: SeaweedFSServer = request.getfixturevalue("seaweedfs")
        use_s3(monkeypatch, server, new_bucket(server))
    else:
        monkeypatch.setenv("MEDIA_BACKEND", "local")
    yield backend
    await close_media_store()


@pytest.fixture
async def media_store(media_env: str) -> MediaStore:
    return await get_media_store()


@pytest.fixture
def media_root(tmp_path: Path) -> Path:
    """The ``MEDIA_ROOT`` the root conftest gave this test."""
    return tmp_path / "media"
