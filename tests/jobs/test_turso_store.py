"""What only the turso backend has: JWT auth on a real sqld, URL handling, recovery from a dropped connection,
and a clean close (no "Future exception was never retrieved")."""

from __future__ import annotations

import gc
import logging
import socket
from pathlib import Path

import aiohttp
import jwt
import libsql_client
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.errors import ConfigurationError, StoreError
from common.jobs import JobStatus, turso
from common.jobs.turso import TursoJobStore, redact_url
from tests.support.sqld import SqldServer, running_sqld, start_sqld

TRANSPORTS = ("http", "ws")


def public_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def signed_token(key: Ed25519PrivateKey) -> str:
    return jwt.encode({"a": "rw"}, key, algorithm="EdDSA")


@pytest.fixture
def jwt_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def auth_sqld(tmp_path: Path, jwt_key: Ed25519PrivateKey):
    with running_sqld(tmp_path / "sqld", jwt_public_key_pem=public_key_pem(jwt_key)) as server:
        yield server


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_connects_with_a_valid_token(auth_sqld: SqldServer, jwt_key: Ed25519PrivateKey, transport: str) -> None:
    store = await TursoJobStore.open(auth_sqld.url(transport), auth_token=signed_token(jwt_key))
    try:
        job, created = await store.create_job("ingest", {"n": 1})
        assert created
        assert (await store.get_job(job.id)).status is JobStatus.QUEUED
    finally:
        await store.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_missing_token_is_a_clear_error(auth_sqld: SqldServer, transport: str) -> None:
    with pytest.raises(StoreError, match="auth token is missing") as raised:
        await TursoJobStore.open(auth_sqld.url(transport))
    assert raised.value.code == "store_unauthorized"
    assert "TURSO_AUTH_TOKEN" in raised.value.message


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_wrong_token_is_a_clear_error(auth_sqld: SqldServer, transport: str) -> None:
    wrong = signed_token(Ed25519PrivateKey.generate())
    with pytest.raises(StoreError, match="auth token was refused") as raised:
        await TursoJobStore.open(auth_sqld.url(transport), auth_token=wrong)
    assert raised.value.code == "store_unauthorized"
    assert wrong not in str(raised.value)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_recovers_after_the_server_restarts(tmp_path: Path, transport: str) -> None:
    server = start_sqld(tmp_path / "sqld")
    store = None
    try:
        store = await TursoJobStore.open(server.url(transport))
        job, _ = await store.create_job("ingest", {"n": 1})
        server.stop()
        server = start_sqld(tmp_path / "sqld", port=server.port)
        assert await store.get_job(job.id) == job
        second, created = await store.create_job("ingest", {"n": 2})
        assert created
        assert [each.id for each in await store.list_jobs()] == [second.id, job.id]
    finally:
        if store is not None:
            await store.close()
        server.stop()


def hold_unused_port(held: socket.socket) -> int:
    """Bind ``held`` to a free loopback port whose number holds "403": the refusal's message names it, and an
    HTTP status must not be read into it. Held bound but never listening, it refuses connections, and no server
    started meanwhile can take it."""
    for port in range(40300, 40400):
        try:
            held.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise AssertionError("no port from 40300 to 40399 is free")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_unreachable_server_is_a_transient_error(transport: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        port = hold_unused_port(held)
        with pytest.raises(StoreError, match="cannot reach the job store") as raised:
            await TursoJobStore.open(f"{transport}://127.0.0.1:{port}")
    assert raised.value.transient
    assert raised.value.code == "store_unavailable"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_close_leaves_no_unretrieved_futures(
    tmp_path: Path, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    with running_sqld(tmp_path / "sqld") as server, caplog.at_level(logging.ERROR, logger="asyncio"):
        store = await TursoJobStore.open(server.url(transport))
        job, _ = await store.create_job("ingest", {})
        claimed = await store.claim_next_job("worker-a", 30)
        assert await store.complete_job(job.id, claimed.lease_token, {})
        await store.cancel_job(job.id)
        await store.close()
        del store
        gc.collect()
    assert "never retrieved" not in caplog.text
    assert "Unclosed" not in caplog.text


async def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    with running_sqld(tmp_path / "sqld") as server:
        store = await TursoJobStore.open(server.http_url)
        await store.close()
        with pytest.raises(StoreError, match="closed"):
            await store.get_job("0" * 32)


def test_urls_are_redacted_and_schemes_checked() -> None:
    assert redact_url("libsql://db-org.turso.io?authToken=abc") == "libsql://db-org.turso.io"
    assert redact_url("https://user:pass@db.example:8443/x?authToken=abc") == "https://db.example:8443/x"
    for url in ("libsql://h", "wss://h", "ws://h:1", "https://h", "http://h:1"):
        assert TursoJobStore(url, None).location == redact_url(url)
    with pytest.raises(ConfigurationError, match="TURSO_DATABASE_URL"):
        TursoJobStore("file:/tmp/jobs.db", None)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_server_that_never_answers_is_a_transient_error_that_says_so(
    transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(turso, "REQUEST_TIMEOUT_S", 0.3)
    monkeypatch.setattr(turso, "RETRY_DELAYS_S", ())
    # Accepts connections (the kernel's backlog does) and never answers: as a server whose writes have stalled.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        with pytest.raises(StoreError, match=r"no answer within 0\.3 s") as raised:
            await TursoJobStore.open(f"{transport}://127.0.0.1:{port}")
    assert raised.value.code == "store_unavailable"
    assert raised.value.transient


@pytest.mark.parametrize(
    ("message", "busy"),
    [
        ("SQLITE_BUSY: database is locked", True),
        ("Server returned HTTP status 429", True),
        ("Server returned HTTP status 503", False),
        ("no such table: jobs", False),
    ],
)
def test_refusals_before_applying_are_repeated_as_busy(message: str, busy: bool) -> None:
    # A shed request (429) was never applied, so even a non-idempotent write may be sent again.
    assert turso._is_busy(libsql_client.LibsqlError(message, "SERVER_ERROR")) is busy


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_settle_and_claim_whose_answer_was_lost_is_not_sent_again(
    tmp_path: Path, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(turso, "RETRY_DELAYS_S", (0.0,))
    with running_sqld(tmp_path / "sqld") as server:
        store = await TursoJobStore.open(server.url(transport))
        try:
            first, _ = await store.create_job("ingest", {})
            second, _ = await store.create_job("ingest", {})
            client = store._current_client()
            real_batch = client.batch
            sent = 0

            async def answer_lost(statements: list[libsql_client.Statement]) -> list[libsql_client.ResultSet]:
                nonlocal sent
                sent += 1
                await real_batch(statements)
                raise aiohttp.ServerDisconnectedError()

            monkeypatch.setattr(client, "batch", answer_lost)
            with pytest.raises(StoreError) as raised:
                await store.settle_and_claim([], "worker-a", 30, 1)
            assert raised.value.transient
            assert sent == 1
            # A repeat would have claimed the second job as well.
            assert [(await store.get_job(job.id)).status for job in (first, second)] == [
                JobStatus.RUNNING,
                JobStatus.QUEUED,
            ]
            # A batch that is safe to repeat is sent again.
            with pytest.raises(StoreError):
                await store.cancel_job(second.id)
            assert sent == 3
        finally:
            await store.close()
