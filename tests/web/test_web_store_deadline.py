"""A hung libSQL server (a real sqld frozen with SIGSTOP) costs a web request at most ``STORE_DEADLINE_S``: the
answer is 503 with ``Retry-After``, and once the server is resumed the same web process answers normally."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from common.jobs import JobType, close_job_store, get_job_store
from tests.support.sqld import running_sqld
from tests.support.web_server import running_web_server
from tests.web.helpers import assert_error


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
                os.kill(sqld.process.pid, signal.SIGSTOP)
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
        assert list((Path(os.environ["MEDIA_ROOT"]) / "uploads").iterdir()) == []
