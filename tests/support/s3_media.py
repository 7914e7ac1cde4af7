"""Pointing the media store at a real SeaweedFS (``tests.support.seaweedfs``): a fresh bucket per test, and the
environment a deployment would set, so ``get_media_store()`` and any subprocess started with ``os.environ`` reach
it."""

from __future__ import annotations

import secrets

import pytest

from tests.support.seaweedfs import SeaweedFSServer


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
