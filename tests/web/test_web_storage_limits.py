"""``MEDIA_MAX_BYTES`` at the upload route, on a local folder and on a real SeaweedFS bucket: an upload that does
not fit is 507 with the JSON error (before its body is read when its ``Content-Length`` says so, as soon as the
bytes received pass the limit otherwise), leaves no object and no job, and ``/healthz`` reports the storage used
and free. ``over_http`` tests also run against a real ``python -m web``."""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from common.config import media_root
from common.jobs import JobStore
from common.media_store import MediaStore, get_media_store
from tests.support.web_server import running_web_server
from tests.web.helpers import assert_error

LIMIT = 1024 * 1024
BOUNDARY = "storage-limit-boundary"


@pytest.fixture
def limited(media_env: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MEDIA_MAX_BYTES", str(LIMIT))
    return media_env


async def chunked_multipart(content: bytes, piece_bytes: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A multipart body sent with no ``Content-Length`` (chunked over HTTP): only the bytes tell its size."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="take.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    for start in range(0, len(content), piece_bytes):
        yield content[start : start + piece_bytes]
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


async def post_chunked(client: httpx.AsyncClient, content: bytes) -> httpx.Response:
    return await client.post(
        "/api/audio/ingest",
        content=chunked_multipart(content),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )


async def stored_keys(media: MediaStore) -> list[str]:
    return sorted([info.key async for info in media.list_objects()])


# ``limited`` comes before ``client`` so the app or server the client starts reads the limit.
@pytest.mark.over_http
async def test_an_upload_that_does_not_fit_is_507_and_leaves_nothing(
    limited: str, client: httpx.AsyncClient, store: JobStore
) -> None:
    media = await get_media_store()
    first = await client.post("/api/audio/ingest", files={"file": ("a.wav", os.urandom(LIMIT // 2))})
    assert first.status_code == 202, first.text
    kept = await stored_keys(media)
    assert len(kept) == 1
    assert await media.used_bytes() == LIMIT // 2

    declared = await client.post("/api/audio/ingest", files={"file": ("b.wav", os.urandom(LIMIT // 2 + 1))})
    assert_error(declared, 507, "insufficient_storage")
    streamed = await post_chunked(client, os.urandom(LIMIT // 2 + 1))
    assert_error(streamed, 507, "insufficient_storage")

    assert await stored_keys(media) == kept
    assert await media.used_bytes() == LIMIT // 2
    assert len(await store.list_jobs()) == 1
    # Without a Content-Length an upload is judged by its bytes alone: one that fits goes in.
    fits = await post_chunked(client, os.urandom(LIMIT // 4))
    assert fits.status_code == 202, fits.text
    assert await media.used_bytes() == LIMIT // 2 + LIMIT // 4


def test_a_declared_length_that_does_not_fit_is_refused_before_the_body_is_sent(limited: str) -> None:
    """Only the request head is sent: a server that waited for the body would never answer (the read times out)."""
    with running_web_server() as server, socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(
            (
                "POST /api/audio/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {LIMIT + 1}\r\n\r\n"
            ).encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            received = sock.recv(65536)
            if not received:
                break
            answer += received
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 507"), answer
    assert json.loads(body)["error"]["code"] == "insufficient_storage"


async def test_healthz_reports_storage_used_and_free(media_env: str, client: httpx.AsyncClient) -> None:
    uploaded = await client.post("/api/audio/ingest", files={"file": ("a.wav", os.urandom(5000))})
    assert uploaded.status_code == 202, uploaded.text
    storage = (await client.get("/healthz")).json()["storage"]
    assert storage["usedBytes"] == 5000
    assert storage["limitBytes"] is None
    if media_env == "local":
        disk_free = shutil.disk_usage(media_root()).free
        assert abs(storage["freeBytes"] - disk_free) < 64 * 1024 * 1024
    else:
        # A bucket's free space is not known without a limit of ours.
        assert storage["freeBytes"] is None


async def test_healthz_free_is_the_limits_headroom(limited: str, client: httpx.AsyncClient) -> None:
    uploaded = await client.post("/api/audio/ingest", files={"file": ("a.wav", os.urandom(5000))})
    assert uploaded.status_code == 202, uploaded.text
    storage = (await client.get("/healthz")).json()["storage"]
    assert storage == {"usedBytes": 5000, "freeBytes": LIMIT - 5000, "limitBytes": LIMIT}
