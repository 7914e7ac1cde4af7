"""A hung libSQL server (a real sqld frozen with SIGSTOP) costs a web request at most ``STORE_DEADLINE_S``: the
answer is 503 with ``Retry-After``, and once the server is resumed the same web process answers normally."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from common.errors import StoreError
from common.jobs import JobType, close_job_store, get_job_store
from tests.support.sqld import running_sqld
from tests.support.web_server import running_web_server
from tests.web.helpers import assert_error
from web.app import create_app
from web.store_deadline import StoreDeadlineMiddleware, _StoreWithDeadline, request_job_store


def freeze(pid: int) -> None:
    """SIGSTOP, then wait until every thread of the process is stopped (the signal is not synchronous)."""
    os.kill(pid, signal.SIGSTOP)
    process = psutil.Process(pid)
    for _ in range(200):
        if all(psutil.Process(thread.id).status() == psutil.STATUS_STOPPED for thread in process.threads()):
            return
        time.sleep(0.01)
    raise AssertionError("sqld did not stop")


@pytest.mark.parametrize("transport", ["http", "ws"])
async def test_a_frozen_store_is_503_with_retry_after_then_recovers(
    transport: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_sqld(tmp_path / "sqld") as sqld:
        monkeypatch.setenv("JOB_STORE_BACKEND", "turso")
        monkeypatch.setenv("TURSO_DATABASE_URL", sqld.url(transport))
        store = await get_job_store()
        job, _ = await store.create_job(JobType.RENDER, {"assetId": "0" * 32})
        await close_job_store()
        env = {**os.environ, "STORE_DEADLINE_S": "2"}
        with running_web_server(env) as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
                assert (await http.get(f"/api/audio/jobs/{job.id}")).status_code == 200
                freeze(sqld.process.pid)
                try:
                    for request in (
                        http.get(f"/api/audio/jobs/{job.id}"),
                        http.get("/api/audio/jobs"),
                        http.post("/api/audio/ingest", files={"file": ("a.wav", b"RIFF" + bytes(100))}),
                    ):
                        response = await request
                        assert_error(response, 503, "store_timeout")
                        assert response.headers["retry-after"].isdigit()
                finally:
                    os.kill(sqld.process.pid, signal.SIGCONT)
                recovered = await http.get(f"/api/audio/jobs/{job.id}")
                assert recovered.status_code == 200, recovered.text
                assert recovered.json()["jobId"] == job.id
                # Read from the store again: the asset is unknown to it.
                missing = await http.post("/api/render", json={"assetId": "0" * 32, "format": "wav"})
                assert_error(missing, 404, "not_found")
        uploads = Path(os.environ["MEDIA_ROOT"]) / "uploads"
        # Nothing of the upload is kept: its first store call (the media account's reservation) timed out.
        assert not uploads.exists() or list(uploads.iterdir()) == []


class SlowStore:
    """Unit-level stand-in: a store whose ``hang`` never answers and ``answer`` answers at once."""

    backend = "slow"

    async def hang(self) -> None:
        await asyncio.Event().wait()

    async def answer(self) -> int:
        return 7

    async def slow_answer(self) -> int:
        await asyncio.sleep(0.3)
        return 7


async def test_the_budget_is_shared_by_the_calls_of_one_request() -> None:
    middleware = StoreDeadlineMiddleware(app=None, deadline_s=0.5)  # type: ignore[arg-type]
    proxy: Any = _StoreWithDeadline(SlowStore())  # type: ignore[arg-type]
    outcomes: list[str] = []

    async def request(scope: Any, receive: Any, send: Any) -> None:
        assert await proxy.answer() == 7
        assert proxy.backend == "slow"
        with pytest.raises(StoreError) as raised:
            await proxy.hang()
        outcomes.append(raised.value.code)
        # The budget is spent: the next call of the same request is cut off too, and nothing is left cancelled.
        with pytest.raises(StoreError):
            await proxy.hang()
        task = asyncio.current_task()
        assert task is not None
        assert task.cancelling() == 0
        outcomes.append("done")

    middleware.app = request
    await middleware({"type": "http"}, None, None)  # type: ignore[arg-type]
    assert outcomes == ["store_timeout", "done"]
    # Outside a request there is no deadline.
    assert await proxy.answer() == 7


async def test_the_media_accounts_calls_each_have_a_deadline_and_leave_the_requests_budget_alone() -> None:
    """An upload reserves its bytes, streams for longer than the deadline, then creates its job: the reservation
    must not have started the request's budget, yet a hung account call is still cut off."""
    middleware = StoreDeadlineMiddleware(app=None, deadline_s=0.5)  # type: ignore[arg-type]
    store = SlowStore()
    account: Any = _StoreWithDeadline(store, per_call=True)  # type: ignore[arg-type]
    route: Any = _StoreWithDeadline(store)  # type: ignore[arg-type]
    outcomes: list[str] = []

    async def request(scope: Any, receive: Any, send: Any) -> None:
        assert await account.answer() == 7
        await asyncio.sleep(0.6)
        with pytest.raises(StoreError) as raised:
            await account.hang()
        outcomes.append(raised.value.code)
        # The route's first call starts its own budget now, with all of it left.
        assert await route.slow_answer() == 7
        outcomes.append("done")

    middleware.app = request
    await middleware({"type": "http"}, None, None)  # type: ignore[arg-type]
    assert outcomes == ["store_timeout", "done"]


async def test_a_cancelled_request_is_not_a_store_timeout() -> None:
    middleware = StoreDeadlineMiddleware(app=None, deadline_s=60)  # type: ignore[arg-type]
    proxy: Any = _StoreWithDeadline(SlowStore())  # type: ignore[arg-type]
    started = asyncio.Event()

    async def request(scope: Any, receive: Any, send: Any) -> None:
        started.set()
        await proxy.hang()

    middleware.app = request
    task = asyncio.create_task(middleware({"type": "http"}, None, None))  # type: ignore[arg-type]
    await started.wait()
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_routes_reach_the_local_store_itself_and_a_server_through_the_deadline(store_env: str) -> None:
    store = await get_job_store()
    app = create_app()
    layers = {layer.cls for layer in app.user_middleware}
    if store_env == "local":
        assert await request_job_store() is store
        assert StoreDeadlineMiddleware not in layers
    else:
        assert isinstance(await request_job_store(), _StoreWithDeadline)
        assert StoreDeadlineMiddleware in layers
