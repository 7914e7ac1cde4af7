"""``LOG_FORMAT``: plain lines by default, one JSON object per line with ``json``, from real worker and web
processes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx

from common.jobs import get_job_store
from tests.support.web_server import running_web_server
from tests.support.worker_process import worker_processes

FIELDS = {"time", "level", "logger", "message", "job_id", "worker_id"}


def json_lines(log: str) -> list[dict[str, Any]]:
    lines = [line for line in log.splitlines() if line.strip()]
    assert lines
    entries = [json.loads(line) for line in lines]
    for entry in entries:
        assert set(entry) >= FIELDS
        assert entry["time"].endswith("Z")
    return entries


async def test_a_worker_logs_one_json_object_per_line_with_job_and_worker_ids(tmp_path: Path) -> None:
    store = await get_job_store()
    job, _ = await store.create_job("noop", {})
    with worker_processes(tmp_path) as start_worker:
        worker = start_worker("--burst", env={"LOG_FORMAT": "json"})
        assert worker.wait(timeout_s=60) == 0
    entries = json_lines(worker.log())
    completed = [entry for entry in entries if entry["message"].startswith(f"job {job.id} completed")]
    assert len(completed) == 1
    assert completed[0]["job_id"] == job.id
    assert completed[0]["level"] == "INFO"
    assert completed[0]["logger"] == "workers.job_runner"
    started = [entry for entry in entries if entry["message"].startswith("worker ") and " started" in entry["message"]]
    assert len(started) == 1
    worker_id = started[0]["message"].split()[1]
    assert {entry["worker_id"] for entry in entries} == {worker_id}


async def test_the_web_process_logs_json_too(tmp_path: Path) -> None:
    store = await get_job_store()
    job, _ = await store.create_job("ingest", {})
    with running_web_server(env={**os.environ, "LOG_FORMAT": "json"}) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            assert (await client.delete(f"/api/audio/jobs/{job.id}")).status_code == 200
        log = server.log()
    entries = json_lines(log)
    cancel = [
        entry for entry in entries if "cancel requested" in entry["message"] and entry["logger"] == "web.routes.jobs"
    ]
    assert [entry["job_id"] for entry in cancel] == [job.id]
    assert any(entry["logger"].startswith("uvicorn") for entry in entries)


async def test_plain_is_the_default_and_an_unknown_format_stops_the_worker(tmp_path: Path) -> None:
    await get_job_store()
    with worker_processes(tmp_path) as start_worker:
        plain = start_worker("--burst")
        assert plain.wait(timeout_s=60) == 0
        refused = start_worker("--burst", env={"LOG_FORMAT": "xml"})
        assert refused.wait(timeout_s=60) == 2
    first_line = plain.log().splitlines()[0]
    assert " INFO " in first_line
    assert not first_line.startswith("{")
    assert "LOG_FORMAT='xml'" in refused.log()
