"""``POST /api/audio/ingest``: streaming uploads, the job they queue, and every way an upload can be wrong."""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from common.config import media_root
from common.ids import is_valid_id
from common.jobs import JobStatus, JobStore, JobType, to_poll_body
from tests.support.media_files import upload_path
from tests.support.web_server import WebServer, running_web_server
from tests.web.helpers import assert_error

AUDIO_BYTES = os.urandom(200_000)


def uploads_dir() -> Path:
    return media_root() / "uploads"


def stored_uploads() -> list[Path]:
    folder = uploads_dir()
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.mark.over_http
async def test_upload_queues_an_ingest_job(client: httpx.AsyncClient, store: JobStore) -> None:
    response = await client.post(
        "/api/audio/ingest",
        files={"file": ("../../etc/My Talk.wav", AUDIO_BYTES, "audio/wav")},
        data={"title": "  Episode   one "},
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert response.headers["location"] == f"/api/audio/jobs/{body['jobId']}"
    job = await store.get_job(body["jobId"])
    assert job is not None
    assert job.type == JobType.INGEST
    assert job.status is JobStatus.QUEUED
    assert body == to_poll_body(job)
    assert set(job.payload) == {"assetId", "uploadId", "filename", "title"}
    assert is_valid_id(job.payload["assetId"])
    assert is_valid_id(job.payload["uploadId"])
    assert job.payload["filename"] == "My Talk.wav"
    assert job.payload["title"] == "Episode one"
    saved = upload_path(job.payload["uploadId"])
    assert saved.read_bytes() == AUDIO_BYTES
    assert stored_uploads() == [saved], "the client's filename must never name a file"


async def test_title_defaults_to_the_filename(client: httpx.AsyncClient, store: JobStore) -> None:
    response = await client.post("/api/audio/ingest", files={"file": ("talk.mp3", b"ID3" + AUDIO_BYTES[:100])})
    assert response.status_code == 202
    job = await store.get_job(response.json()["jobId"])
    assert job is not None
    assert job.payload["title"] == "talk"
    assert job.payload["assetId"] != job.payload["uploadId"]


async def test_idempotency_key_returns_the_first_job(client: httpx.AsyncClient, store: JobStore) -> None:
    headers = {"Idempotency-Key": "upload-7f3a"}
    first = await client.post("/api/audio/ingest", files={"file": ("a.wav", AUDIO_BYTES)}, headers=headers)
    again = await client.post("/api/audio/ingest", files={"file": ("a.wav", AUDIO_BYTES)}, headers=headers)
    other = await client.post(
        "/api/audio/ingest", files={"file": ("a.wav", AUDIO_BYTES)}, headers={"Idempotency-Key": "x"}
    )
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json()["jobId"] == first.json()["jobId"]
    assert again.headers["location"] == first.headers["location"]
    assert other.status_code == 202
    assert other.json()["jobId"] != first.json()["jobId"]
    jobs = await store.list_jobs(job_type=JobType.INGEST)
    assert len(jobs) == 2
    assert len(stored_uploads()) == 2, "the retry's copy of the upload must be removed"


async def test_malformed_idempotency_keys_are_refused(client: httpx.AsyncClient) -> None:
    for key in ("", "x" * 256, "caf\u00e9", "tab\there"):
        response = await client.post(
            "/api/audio/ingest", files={"file": ("a.wav", AUDIO_BYTES)}, headers={"Idempotency-Key": key.encode()}
        )
        assert_error(response, 400, "invalid_idempotency_key")
    assert stored_uploads() == []


async def test_overlong_title_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/audio/ingest", files={"file": ("a.wav", AUDIO_BYTES)}, data={"title": "t" * 201})
    assert_error(response, 400, "invalid_field", "title")
    assert stored_uploads() == []


async def test_missing_file_field_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/audio/ingest", files={"title": (None, "only a title")})
    assert_error(response, 400, "missing_file")
    assert stored_uploads() == []


async def test_empty_file_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/audio/ingest", files={"file": ("empty.wav", b"")})
    assert_error(response, 400, "empty_file")
    assert stored_uploads() == []


async def test_unknown_form_field_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/audio/ingest", files={"file": ("a.wav", AUDIO_BYTES), "path": (None, "/etc")})
    assert_error(response, 400, "unknown_field", "path")
    assert stored_uploads() == []


async def test_two_files_are_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/audio/ingest", files=[("file", ("a.wav", AUDIO_BYTES)), ("file", ("b.wav", AUDIO_BYTES))]
    )
    assert_error(response, 400, "invalid_multipart")
    assert stored_uploads() == []


async def test_wrong_content_type_is_415(client: httpx.AsyncClient) -> None:
    for content_type, body in (
        ("application/json", b'{"file": "x"}'),
        ("application/octet-stream", AUDIO_BYTES),
        ("text/plain", b"hello"),
        (None, AUDIO_BYTES),
    ):
        headers = {"Content-Type": content_type} if content_type else {}
        response = await client.post("/api/audio/ingest", content=body, headers=headers)
        assert_error(response, 415, "unsupported_media_type")
    assert stored_uploads() == []


async def test_malformed_multipart_is_400(client: httpx.AsyncClient) -> None:
    cases = {
        "no boundary": ("multipart/form-data", b"--x\r\n"),
        "garbage": ("multipart/form-data; boundary=abc", b"this is not multipart at all"),
        "truncated": (
            "multipart/form-data; boundary=abc",
            b'--abc\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',
        ),
        "no name": ("multipart/form-data; boundary=abc", b"--abc\r\nContent-Type: audio/wav\r\n\r\nabc\r\n--abc--\r\n"),
    }
    for case, (content_type, body) in cases.items():
        response = await client.post("/api/audio/ingest", content=body, headers={"Content-Type": content_type})
        assert response.status_code == 400, case
        assert_error(response, 400, "invalid_multipart")
    assert stored_uploads() == []


def _multipart_head(boundary: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()


def _send_request_head(sock: socket.socket, boundary: str, content_length: int | None) -> None:
    length = f"Content-Length: {content_length}" if content_length is not None else "Transfer-Encoding: chunked"
    sock.sendall(
        (
            "POST /api/audio/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n{length}\r\n\r\n"
        ).encode()
    )


def _http_chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    """The status and the raw bytes of one response (head and ``Content-Length`` body)."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length:\s*(\d+)", head)
    while length and len(body) < int(length.group(1)):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(received.split(b" ", 2)[1]), received[: len(head) + 4] + body


@pytest.fixture
def small_limit_server() -> Iterator[WebServer]:
    env = {**os.environ, "MAX_UPLOAD_BYTES": str(256 * 1024)}
    with running_web_server(env) as server:
        yield server


def test_upload_over_the_limit_is_refused_as_soon_as_it_crosses_it(small_limit_server: WebServer) -> None:
    """A chunked body (no length to judge up front) of up to 64 MiB against a 256 KiB limit: the 413 arrives
    while the client is still sending, and no part of the upload stays on disk."""
    boundary = "b0undary"
    chunk = b"\x01" * 16384
    body_total = 64 * 1024 * 1024
    sent = 0
    answered_early = False
    with socket.create_connection(("127.0.0.1", small_limit_server.port), timeout=10) as sock:
        _send_request_head(sock, boundary, None)
        sock.sendall(_http_chunk(_multipart_head(boundary)))
        sock.settimeout(0.01)
        deadline = time.monotonic() + 60
        while sent < body_total and time.monotonic() < deadline:
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    answered_early = True
                    break
            except TimeoutError:
                pass
            try:
                sock.sendall(_http_chunk(chunk))
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                answered_early = True
                break
            sent += len(chunk)
        sock.settimeout(10)
        status, raw = _read_response(sock)
    assert status == 413, raw
    assert b"upload_too_large" in raw
    assert answered_early, "the server read the whole body before answering"
    assert sent < body_total // 4, f"the client sent {sent} bytes before the server answered"
    assert stored_uploads() == [], "the partial upload must be removed"


def test_declared_length_over_the_limit_is_refused_before_reading(small_limit_server: WebServer) -> None:
    boundary = "b0undary"
    with socket.create_connection(("127.0.0.1", small_limit_server.port), timeout=10) as sock:
        _send_request_head(sock, boundary, 3 * 1024**3)
        status, raw = _read_response(sock)
    assert status == 413, raw
    assert b"upload_too_large" in raw
    assert stored_uploads() == []


async def test_upload_just_under_the_limit_is_accepted(small_limit_server: WebServer, store: JobStore) -> None:
    async with httpx.AsyncClient(base_url=small_limit_server.base_url) as http:
        response = await http.post("/api/audio/ingest", files={"file": ("a.wav", b"\x02" * (256 * 1024))})
        too_big = await http.post("/api/audio/ingest", files={"file": ("a.wav", b"\x02" * (256 * 1024 + 1))})
    assert response.status_code == 202
    job = await store.get_job(response.json()["jobId"])
    assert job is not None
    assert upload_path(job.payload["uploadId"]).stat().st_size == 256 * 1024
    assert_error(too_big, 413, "upload_too_large")
    assert len(stored_uploads()) == 1


def test_an_upload_cut_off_by_the_client_leaves_no_file(web_server: WebServer) -> None:
    boundary = "b0undary"
    with socket.create_connection(("127.0.0.1", web_server.port), timeout=10) as sock:
        _send_request_head(sock, boundary, 10 * 1024 * 1024)
        sock.sendall(_multipart_head(boundary) + b"\x03" * 300_000)
        deadline = time.monotonic() + 10
        while not stored_uploads() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stored_uploads(), "the upload should be on its way to disk while the client sends"
    deadline = time.monotonic() + 10
    while stored_uploads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored_uploads() == []
