"""The app around the routes: health, the OpenAPI document, the bearer token, the editor page, error handling."""

from __future__ import annotations

import json
import logging
import os

import httpx
import pytest
from starlette.requests import Request
from starlette.routing import Mount, Route

from common.errors import ConfigurationError, StoreError
from common.ids import new_id
from common.jobs import JobStatus, JobStore, JobType
from tests.support.web_server import WebServerError, running_web_server
from tests.web.helpers import assert_error, job_in_status
from web.app import create_app
from web.errors import app_error_handler
from web.openapi import build_openapi
from web.static_files import STATIC_DIR


async def test_healthz_reports_the_store_and_job_counts(client: httpx.AsyncClient, store: JobStore) -> None:
    # Claimed before the queued render exists, so the claim takes this one.
    await job_in_status(store, JobType.RENDER, JobStatus.COMPLETED)
    await job_in_status(store, JobType.INGEST, JobStatus.QUEUED)
    await job_in_status(store, JobType.RENDER, JobStatus.QUEUED)
    response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["store"] == {"backend": store.backend, "storeId": store.store_id}
    assert body["jobs"] == {"queued": 2, "running": 0, "completed": 1, "failed": 0, "cancelled": 0}
    assert body["jobsByType"] == {"ingest": {"queued": 1}, "render": {"queued": 1, "completed": 1}}


async def test_openapi_documents_every_route(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, operations in document["paths"].items() for method in operations}
    app = create_app()
    served = set()
    for route in app.routes:
        if isinstance(route, Route) and route.include_in_schema and route.path != "/":
            path = route.path.replace("{path:path}", "{path}")
            served |= {(path, method) for method in route.methods or () if method != "HEAD"}
    assert served
    assert served == documented
    assert "securitySchemes" not in document["components"]


def test_openapi_declares_the_bearer_token_when_one_is_required() -> None:
    document = build_openapi(token_required=True)
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert "401" in document["paths"]["/api/render"]["post"]["responses"]
    assert "401" not in document["paths"]["/healthz"]["get"]["responses"]


async def test_bearer_token_guards_api_and_media(monkeypatch: pytest.MonkeyPatch, store: JobStore) -> None:
    token = "s3cret-" + new_id()
    monkeypatch.setenv("API_TOKEN", token)
    job = await job_in_status(store, JobType.INGEST, JobStatus.QUEUED)
    with running_web_server() as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            guarded = [f"/api/audio/jobs/{job.id}", "/api/audio/jobs", "/media/renders/x/out.mp3", "/api/nothing"]
            for path in guarded:
                response = await http.get(path)
                assert_error(response, 401, "unauthorized")
                assert response.headers["www-authenticate"] == "Bearer"
                assert_error(await http.get(path, headers={"Authorization": f"Bearer {token}x"}), 401, "unauthorized")
                assert_error(await http.get(path, headers={"Authorization": f"Basic {token}"}), 401, "unauthorized")
                assert_error(await http.get(path, headers={"Authorization": token}), 401, "unauthorized")
            delete = await http.delete(f"/api/audio/jobs/{job.id}")
            assert_error(delete, 401, "unauthorized")
            upload = await http.post("/api/audio/ingest", files={"file": ("a.wav", b"RIFF")})
            assert_error(upload, 401, "unauthorized")
            authorised = {"Authorization": f"Bearer {token}"}
            polled = await http.get(f"/api/audio/jobs/{job.id}", headers=authorised)
            assert polled.status_code == 200
            assert polled.json()["status"] == "queued"
            missing = await http.get("/media/renders/x/out.mp3", headers=authorised)
            assert_error(missing, 404, "not_found")
            assert (await http.get("/healthz")).status_code == 200
            document = (await http.get("/openapi.json")).json()
            assert "bearer" in document["components"]["securitySchemes"]
    stored = await store.get_job(job.id)
    assert stored is not None
    assert stored.status is JobStatus.QUEUED, "an unauthorised DELETE cancelled the job"


async def test_editor_page_and_static_files(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    if not (STATIC_DIR / "index.html").is_file():
        assert_error(page, 404, "not_found")
        return
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    scripts = sorted(STATIC_DIR.rglob("*.js"))
    for script in scripts[:3]:
        response = await client.get("/static/" + script.relative_to(STATIC_DIR).as_posix())
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == "text/javascript"
    assert_error(await client.get("/static/no-such-file.js"), 404, "not_found")
    assert_error(await client.get("/static/../app.py"), 404, "not_found")


async def test_an_unexpected_exception_is_a_generic_500_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app()

    async def broken(request: object) -> None:
        raise RuntimeError("secret internal detail /srv/audioprep")

    app.router.routes.insert(0, Route("/api/broken", broken))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with caplog.at_level(logging.ERROR):
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        ):
            response = await client.get("/api/broken")
    assert_error(response, 500, "internal_error")
    assert "secret internal detail" not in response.text
    assert "secret internal detail" in caplog.text


def test_static_is_mounted() -> None:
    app = create_app()
    mounts = [route for route in app.routes if isinstance(route, Mount)]
    assert [mount.path for mount in mounts] == ["/static"]
    assert os.fspath(STATIC_DIR).endswith(os.path.join("web", "static"))


async def test_store_errors_are_503_without_their_details() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/api/audio/jobs", "headers": []})
    response = await app_error_handler(request, StoreError("disk I/O error at /srv/secret.sqlite3", transient=True))
    assert response.status_code == 503
    body = json.loads(bytes(response.body))
    assert body["error"]["code"] == "store_error"
    assert "/srv/secret" not in body["error"]["message"]


@pytest.mark.parametrize("name", ["MAX_UPLOAD_BYTES", "MAX_JSON_BYTES"])
@pytest.mark.parametrize("value", ["lots", "-5", "0", "1.5"])
def test_malformed_limits_stop_the_app_at_start_up(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        create_app()


def test_a_misconfigured_store_stops_the_web_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOB_STORE_BACKEND", "turso")
    with pytest.raises(WebServerError, match="TURSO_DATABASE_URL"), running_web_server(start_timeout_s=20):
        pass
