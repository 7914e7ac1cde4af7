"""Long-polling across processes on every store backend: a real worker (``python -m workers``) writes progress, a
real web process (``python -m web``) sees it through the store and answers the client waiting on it."""

from __future__ import annotations

from pathlib import Path

import httpx

from common.jobs import get_job_store
from tests.support.web_server import running_web_server
from tests.support.worker_process import worker_processes

#: Every long-poll below may wait this long; a job of a couple of seconds changes well within it.
WAIT_S = 30


async def test_a_client_follows_a_running_job_by_long_polling(store_env: str, tmp_path: Path) -> None:
    store = await get_job_store()
    # Longer than the worker's first progress write (2 s after the claim), shorter than its second.
    job, _ = await store.create_job("sleep", {"seconds": 3.0})
    with running_web_server() as server, worker_processes(tmp_path) as start_worker:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=WAIT_S + 10) as client:
            seen = [(await client.get(f"/api/audio/jobs/{job.id}")).json()]
            start_worker("--concurrency", "1")
            while seen[-1]["status"] not in ("completed", "failed", "cancelled"):
                response = await client.get(
                    f"/api/audio/jobs/{job.id}", params={"waitForChange": seen[-1]["updatedAt"], "timeout": WAIT_S}
                )
                assert response.status_code == 200
                seen.append(response.json())
    # Each answer came because the job changed, never because a wait ran out.
    stamps = [body["updatedAt"] for body in seen]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
    assert seen[-1]["status"] == "completed"
    progress = [body["progress"] for body in seen if body["status"] == "running"]
    assert any(0 < value < 1 for value in progress)
    assert progress == sorted(progress)
    assert {tuple(sorted(body)) for body in seen} == {tuple(sorted(seen[0]))}
