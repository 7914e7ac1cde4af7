"""Sign-in with ``API_TOKEN``: the session cookie, what it opens, cross-site refusals, tampering, expiry, sign-out
and the failed sign-in limit. In-process (httpx over ASGI); the browser test signs in through real HTTP."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest

from common.errors import ConfigurationError
from common.ids import new_id
from common.jobs import JobStatus, JobStore, JobType
from tests.web.helpers import assert_error, job_in_status
from web.app import create_app
from web.openapi import build_openapi
from web.session import COOKIE_NAME, new_session, session_settings
from web.signin_limit import MAX_FAILURES, WINDOW_S, FailedSignIns

TOKEN = "s3cret-" + "0123456789abcdef" * 2
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}

AppClient = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def app_client(monkeypatch: pytest.MonkeyPatch) -> AppClient:
    """``async with app_client(address=...)``: a client of a fresh app instance with ``API_TOKEN`` set."""
    monkeypatch.setenv("API_TOKEN", TOKEN)

    @asynccontextmanager
    async def open_client(
        address: str = "192.0.2.10", base_url: str = "http://testserver"
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app()
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url=base_url) as client,
        ):
            yield client

    return open_client


async def sign_in(client: httpx.AsyncClient, token: str = TOKEN, **headers: str) -> httpx.Response:
    return await client.post("/api/session", json={"token": token}, headers={**SAME_ORIGIN, **headers})


def cookie_attributes(response: httpx.Response) -> dict[str, str]:
    header = response.headers["set-cookie"]
    name_value, *attributes = [part.strip() for part in header.split(";")]
    parsed = {"": name_value}
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        parsed[key.lower()] = value
    return parsed


async def get_with_cookie(client: httpx.AsyncClient, value: str) -> httpx.Response:
    client.cookies.set(COOKIE_NAME, value)
    try:
        return await client.get("/api/audio/jobs")
    finally:
        client.cookies.clear()


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", new_id(), path)


async def test_every_route_family_answers_401_without_credentials(app_client: AppClient) -> None:
    document = build_openapi(token_required=True)
    async with app_client() as client:
        guarded = 0
        for path, item in document["paths"].items():
            for method, operation in item.items():
                response = await client.request(method.upper(), concrete(path), headers=SAME_ORIGIN)
                if operation.get("security") == [] or path == "/healthz":
                    assert response.status_code != 401, f"{method} {path} should stay open"
                    continue
                assert_error(response, 401, "unauthorized")
                guarded += 1
        assert guarded >= 15
        for open_path in ("/", "/static/app.js", "/healthz", "/openapi.json", "/api/session"):
            assert (await client.get(open_path)).status_code == 200, open_path


async def test_sign_in_gives_a_session_that_api_and_media_accept(app_client: AppClient, store: JobStore) -> None:
    job = await job_in_status(store, JobType.INGEST, JobStatus.QUEUED)
    async with app_client() as client:
        assert (await client.get("/api/session")).json() == {"required": True, "signedIn": False, "expiresAt": None}
        assert_error(await sign_in(client, TOKEN + "x"), 401, "invalid_token")
        response = await sign_in(client)
        assert response.status_code == 200, response.text
        assert response.json()["signedIn"] is True
        attributes = cookie_attributes(response)
        assert attributes[""].startswith(f"{COOKIE_NAME}=v1.")
        assert TOKEN not in response.headers["set-cookie"]
        assert {"httponly", "path", "samesite", "max-age"} <= set(attributes)
        assert (attributes["samesite"], attributes["path"], attributes["max-age"]) == ("Strict", "/", str(12 * 3600))
        assert "secure" not in attributes
        state = (await client.get("/api/session")).json()
        assert state["signedIn"] is True
        assert state["expiresAt"] is not None
        polled = await client.get(f"/api/audio/jobs/{job.id}")
        assert polled.status_code == 200
        assert_error(await client.get("/media/renders/x/out.mp3"), 404, "not_found")
        cancelled = await client.delete(f"/api/audio/jobs/{job.id}", headers=SAME_ORIGIN)
        assert cancelled.json()["status"] == "cancelled"


async def test_the_cookie_is_secure_behind_https(app_client: AppClient) -> None:
    async with app_client(base_url="https://testserver") as client:
        assert "secure" in cookie_attributes(await sign_in(client))
    async with app_client() as client:
        assert "secure" in cookie_attributes(await sign_in(client, **{"X-Forwarded-Proto": "https"}))


async def test_cross_site_changes_are_refused_and_bearer_clients_are_not_asked(
    app_client: AppClient, store: JobStore
) -> None:
    job = await job_in_status(store, JobType.INGEST, JobStatus.QUEUED)
    path = f"/api/audio/jobs/{job.id}"
    async with app_client() as client:
        await sign_in(client)
        cross_site = (
            {},
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site"},
            {"Origin": "http://evil.example"},
            {"Origin": "null"},
        )
        for headers in cross_site:
            assert_error(await client.delete(path, headers=headers), 403, "cross_site_request")
        assert (await client.get(path, headers={"Sec-Fetch-Site": "cross-site"})).status_code == 200
        assert (await client.delete(path, headers={"Origin": "http://testserver"})).status_code == 200
        assert_error(await sign_in(client, **{"Sec-Fetch-Site": "cross-site"}), 403, "cross_site_request")
    async with app_client() as bearer:
        rename = await bearer.patch(
            f"/api/audio/assets/{new_id()}", json={"title": "x"}, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert_error(rename, 404, "not_found")


async def test_tampered_foreign_and_expired_cookies_are_refused(
    app_client: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = session_settings(TOKEN)
    good, _ = new_session(settings, time.time())
    version, expires, nonce, signature = good.split(".")
    expired, _ = new_session(settings, time.time() - settings.lifetime_s - 1)
    foreign, _ = new_session(session_settings("another-token"), time.time())
    refused = [
        f"{version}.{int(expires) + 3600}.{nonce}.{signature}",
        f"{version}.{expires}.{nonce}x.{signature}",
        f"{version}.{expires}.{nonce}.{signature[:-2]}AA",
        f"v2.{expires}.{nonce}.{signature}",
        expired,
        foreign,
        "",
        "garbage",
    ]
    async with app_client() as client:
        assert (await get_with_cookie(client, good)).status_code == 200
        for value in refused:
            assert_error(await get_with_cookie(client, value), 401, "unauthorized")
    # Any process with the same secret accepts the cookie; SESSION_SECRET, when set, is that secret.
    monkeypatch.setenv("SESSION_SECRET", "shared-" + new_id())
    async with app_client() as first, app_client() as second:
        await sign_in(first)
        value = first.cookies[COOKIE_NAME]
        assert (await get_with_cookie(second, value)).status_code == 200
        monkeypatch.setenv("SESSION_SECRET", "rotated-" + new_id())
        async with app_client() as rotated:
            assert_error(await get_with_cookie(rotated, value), 401, "unauthorized")


async def test_sign_out_clears_the_cookie(app_client: AppClient) -> None:
    async with app_client() as client:
        await sign_in(client)
        assert (await client.get("/api/audio/jobs")).status_code == 200
        response = await client.delete("/api/session", headers=SAME_ORIGIN)
        assert response.status_code == 204
        assert cookie_attributes(response)["max-age"] == "0"
        assert COOKIE_NAME not in client.cookies
        assert_error(await client.get("/api/audio/jobs"), 401, "unauthorized")
        assert (await client.get("/api/session")).json()["signedIn"] is False


async def test_failed_sign_ins_are_limited_per_address(app_client: AppClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with app_client(address="198.51.100.7") as client, app_client(address="198.51.100.8") as other:
        for _ in range(MAX_FAILURES):
            assert_error(await sign_in(client, "wrong-" + TOKEN), 401, "invalid_token")
        limited = await sign_in(client)
        assert_error(limited, 429, "too_many_attempts")
        assert 1 <= int(limited.headers["retry-after"]) <= WINDOW_S
        assert COOKIE_NAME not in client.cookies
        assert (await sign_in(other)).status_code == 200
    assert TOKEN not in caplog.text


def test_the_limit_lifts_when_failures_leave_the_window() -> None:
    now = [1000.0]
    limiter = FailedSignIns(clock=lambda: now[0])
    for _ in range(MAX_FAILURES - 1):
        limiter.record_failure("a")
        now[0] += 1
    assert limiter.retry_after_s("a") is None
    limiter.record_failure("a")
    assert limiter.retry_after_s("a") == WINDOW_S - (MAX_FAILURES - 1)
    now[0] = 1000.0 + WINDOW_S + 0.5
    assert limiter.retry_after_s("a") is None
    assert limiter.retry_after_s("b") is None


async def test_without_api_token_there_is_nothing_to_sign_in_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_TOKEN", raising=False)
    app = create_app()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        assert (await client.get("/api/session")).json() == {"required": False, "signedIn": True, "expiresAt": None}
        assert_error(await sign_in(client), 409, "signin_not_required")


@pytest.mark.parametrize("hours", ["0", "-1", "1.5", "x", str(24 * 367)])
def test_a_bad_session_lifetime_stops_the_app(monkeypatch: pytest.MonkeyPatch, hours: str) -> None:
    monkeypatch.setenv("API_TOKEN", TOKEN)
    monkeypatch.setenv("SESSION_HOURS", hours)
    with pytest.raises(ConfigurationError, match="SESSION_HOURS"):
        create_app()
