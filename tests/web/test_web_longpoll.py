"""Long-polling on the poll routes (``?waitForChange=<updatedAt>&timeout=<s>``), in-process and over real HTTP.

The job is moved with the store's real methods while a request waits; the answer shows the change, which it
could only show because the wait ended on it (a timed-out wait answers the body it started with).
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import httpx
import pytest

from common.jobs import JobStore
from tests.support.web_server import running_web_server
from tests.web.conftest import in_process_client
from web.app import create_app


async def claimed(store: JobStore, job_type: str = "ingest") -> tuple[str, str]:
    job, _ = await store.create_job(job_type, {"n": 1})
    running = await store.claim_next_job("worker-a", 60, [job_type])
    assert running is not None
    assert running.id == job.id
    return job.id, running.lease_token or ""


async def poll(client: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
    return await client.get(path, params=params)


async def test_a_poll_without_parameters_is_unchanged(client: httpx.AsyncClient, store: JobStore) -> None:
    job_id, _ = await claimed(store)
    response = await poll(client, f"/api/audio/jobs/{job_id}")
    assert response.status_code == 200
    assert set(response.json()) == {
        "jobId", "type", "status", "progress", "stage", "result", "error", "createdAt", "updatedAt",
    }  # fmt: skip


async def test_a_timeout_alone_is_a_plain_poll(client: httpx.AsyncClient, store: JobStore) -> None:
    job_id, _ = await claimed(store)
    plain = (await poll(client, f"/api/audio/jobs/{job_id}")).json()
    response = await poll(client, f"/api/audio/jobs/{job_id}", timeout=30)
    assert response.status_code == 200
    assert response.json() == plain


async def test_an_outdated_updated_at_is_answered_at_once(client: httpx.AsyncClient, store: JobStore) -> None:
    job_id, token = await claimed(store)
    first = (await poll(client, f"/api/audio/jobs/{job_id}")).json()
    assert await store.set_progress(job_id, token, 0.5)
    # A 30 s wait on a job that has already moved would hang the test past its timeout if it waited.
    response = await poll(client, f"/api/audio/jobs/{job_id}", waitForChange=first["updatedAt"], timeout=30)
    assert response.status_code == 200
    assert response.json()["progress"] == 0.5
    assert set(response.json()) == set(first)


async def test_a_wait_ends_when_the_job_changes(client: httpx.AsyncClient, store: JobStore) -> None:
    job_id, token = await claimed(store, "render")
    first = (await poll(client, f"/api/render/{job_id}")).json()
    waiting = asyncio.create_task(poll(client, f"/api/render/{job_id}", waitForChange=first["updatedAt"], timeout=30))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    assert await store.set_progress(job_id, token, 0.25)
    response = await waiting
    assert response.status_code == 200
    body = response.json()
    assert body["progress"] == 0.25
    assert body["updatedAt"] != first["updatedAt"]
    assert {key: value for key, value in body.items() if key not in ("progress", "updatedAt")} == {
        key: value for key, value in first.items() if key not in ("progress", "updatedAt")
    }


async def test_a_wait_answers_a_stage_change_with_the_plain_poll_body(
    client: httpx.AsyncClient, store: JobStore
) -> None:
    job_id, token = await claimed(store, "render")
    assert await store.set_progress(job_id, token, 0.4, "measuring")
    first = (await poll(client, f"/api/render/{job_id}")).json()
    assert first["stage"] == "measuring"
    waiting = asyncio.create_task(poll(client, f"/api/render/{job_id}", waitForChange=first["updatedAt"], timeout=30))
    await asyncio.sleep(0.3)
    assert await store.set_progress(job_id, token, 0.4, "encoding")
    body = (await waiting).json()
    assert body["stage"] == "encoding"
    assert body == (await poll(client, f"/api/render/{job_id}")).json()


async def test_a_cancel_through_the_same_process_ends_a_wait(client: httpx.AsyncClient, store: JobStore) -> None:
    job_id, _ = await claimed(store)
    first = (await poll(client, f"/api/audio/ingest/{job_id}")).json()
    waiting = asyncio.create_task(
        poll(client, f"/api/audio/ingest/{job_id}", waitForChange=first["updatedAt"], timeout=30)
    )
    await asyncio.sleep(0.3)
    assert (await client.delete(f"/api/audio/jobs/{job_id}")).json()["status"] == "cancelled"
    assert (await waiting).json()["status"] == "cancelled"


async def test_a_wait_without_change_answers_the_same_body_after_its_timeout(
    client: httpx.AsyncClient, store: JobStore
) -> None:
    job_id, _ = await claimed(store)
    first = (await poll(client, f"/api/audio/jobs/{job_id}")).json()
    response = await poll(client, f"/api/audio/jobs/{job_id}", waitForChange=first["updatedAt"], timeout=0.2)
    assert response.status_code == 200
    assert response.json() == first


async def test_a_finished_job_is_answered_at_once(client: httpx.AsyncClient, store: JobStore) -> None:
    job_id, token = await claimed(store)
    assert await store.complete_job(job_id, token, {"ok": True})
    done = (await poll(client, f"/api/audio/jobs/{job_id}")).json()
    response = await poll(client, f"/api/audio/jobs/{job_id}", waitForChange=done["updatedAt"], timeout=30)
    assert response.json() == done


async def test_unknown_ids_and_other_types_are_404(client: httpx.AsyncClient, store: JobStore) -> None:
    job_id, _ = await claimed(store, "ingest")
    stamp = "2026-01-01T00:00:00.000Z"
    for path in ("/api/audio/jobs/" + "0" * 32, f"/api/render/{job_id}", "/api/audio/jobs/not-an-id"):
        response = await poll(client, path, waitForChange=stamp, timeout=1)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"waitForChange": "yesterday"}, "waitForChange"),
        ({"waitForChange": "2026-01-01T00:00:00Z"}, "waitForChange"),
        ({"waitForChange": "2026-01-01T00:00:00.000Z", "timeout": "31"}, "timeout"),
        ({"waitForChange": "2026-01-01T00:00:00.000Z", "timeout": "-1"}, "timeout"),
        ({"waitForChange": "2026-01-01T00:00:00.000Z", "timeout": "nan"}, "timeout"),
        ({"waitForChange": "2026-01-01T00:00:00.000Z", "timeout": "soon"}, "timeout"),
        ({"timeout": "50"}, "timeout"),
        ({"waitForChange": "2026-01-01T00:00:00.000Z", "wait": "1"}, "wait"),
    ],
)
async def test_bad_parameters_are_400_with_the_field(
    client: httpx.AsyncClient, store: JobStore, params: dict[str, str], field: str
) -> None:
    job_id, _ = await claimed(store)
    response = await poll(client, f"/api/audio/jobs/{job_id}", **params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] in ("invalid_parameter", "unknown_parameter")
    assert error["field"] == field


async def test_a_client_that_goes_away_frees_its_waiter_at_once(store: JobStore) -> None:
    job_id, _ = await claimed(store)
    app = create_app()
    async with in_process_client() as client:
        first = (await poll(client, f"/api/audio/jobs/{job_id}")).json()
    async with app.router.lifespan_context(app):
        disconnect = asyncio.Event()
        sent: list[dict[str, Any]] = []
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await disconnect.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": f"/api/audio/jobs/{job_id}",
            "raw_path": f"/api/audio/jobs/{job_id}".encode(),
            "query_string": f"waitForChange={first['updatedAt']}&timeout=30".encode(),
            "root_path": "",
            "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 1),
            "server": ("testserver", 80),
            "app": app,
        }
        request = asyncio.create_task(app(scope, receive, send))
        await asyncio.sleep(0.3)
        watcher = app.state.job_watcher
        assert watcher.waiting == 1
        disconnect.set()
        await request
        assert watcher.waiting == 0


async def test_shutdown_answers_waiting_requests(store: JobStore) -> None:
    job_id, _ = await claimed(store)
    with running_web_server() as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
            first = (await poll(client, f"/api/audio/jobs/{job_id}")).json()
            waiting = [
                asyncio.create_task(
                    poll(client, f"/api/audio/jobs/{job_id}", waitForChange=first["updatedAt"], timeout=30)
                )
                for _ in range(3)
            ]
            await asyncio.sleep(0.5)
            assert not any(task.done() for task in waiting)
            server.process.send_signal(signal.SIGTERM)
            responses = await asyncio.gather(*waiting)
        assert [response.status_code for response in responses] == [200, 200, 200]
        assert all(response.json() == first for response in responses)
        # uvicorn ends a signalled shutdown by raising the signal again once its lifespan has completed.
        assert server.process.wait(timeout=20) == -signal.SIGTERM
        assert "answered 3 waiting long-poll request(s)" in server.log()
