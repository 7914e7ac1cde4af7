"""The store and the media agree after the app's real flows: a real ``python -m web`` and ``python -m workers``
(the real handlers on real audio) run ingest, edit + save, preview, render, and the deletion of a render, a
version and a whole recording, on a real job store file and each media backend (a folder, a real SeaweedFS
bucket). Then ``python -m workers media-gc --dry-run`` finds nothing to remove, and every file the store names
exists."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.config import PROJECT_ROOT
from common.jobs import get_job_store
from common.media import published_keys
from common.media_store import MediaNotFound, get_media_store
from tests.browser.running_app import running_app
from tests.support.audio_samples import sine, write_audio

pytestmark = pytest.mark.slow

JOB_TIMEOUT_S = 120.0


async def run_job(http: httpx.AsyncClient, path: str, **kwargs: Any) -> dict[str, Any]:
    created = await http.post(path, **kwargs)
    assert created.status_code == 202, created.text
    job_id = created.json()["jobId"]
    async with asyncio.timeout(JOB_TIMEOUT_S):
        while True:
            body = (await http.get(f"/api/audio/jobs/{job_id}")).json()
            if body["status"] in ("completed", "failed", "cancelled"):
                break
            await asyncio.sleep(0.1)
    assert body["status"] == "completed", body
    return dict(body)


def dry_run_media_gc() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers", "media-gc", "--dry-run", "--min-age-s", "0"],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_after_every_flow_media_gc_finds_nothing_and_every_named_file_exists(
    media_env: str,
    tmp_path: Path,
) -> None:
    audio = write_audio(tmp_path / "take.wav", sine(2.0, rate=22050, channels=1), rate=22050).read_bytes()
    with running_app(tmp_path) as app:
        async with httpx.AsyncClient(base_url=app.web.base_url, timeout=30) as http:
            kept = (await run_job(http, "/api/audio/ingest", files={"file": ("kept.wav", audio)}))["result"]
            doomed = (await run_job(http, "/api/audio/ingest", files={"file": ("doomed.wav", audio)}))["result"]
            for asset in (kept, doomed):
                edits = {"assetId": asset["assetId"], "edits": [{"op": "gain", "db": -2}]}
                await run_job(http, "/api/audio/edit/save", json=edits)
                await run_job(http, "/api/audio/edit/preview", json=edits)
                await run_job(http, "/api/render", json={"assetId": asset["assetId"], "format": "mp3"})
            dropped = await run_job(http, "/api/render", json={"assetId": kept["assetId"], "format": "flac"})
            gone = await http.delete(f"/api/audio/assets/{kept['assetId']}/renders/{dropped['jobId']}")
            assert gone.status_code == 204
            assert (await http.delete(f"/api/audio/assets/{kept['assetId']}/versions/1")).status_code == 200
            assert (await http.delete(f"/api/audio/assets/{doomed['assetId']}")).status_code == 200

    gc = dry_run_media_gc()
    assert (gc.returncode, gc.stdout) == (0, "0 orphan(s) found, 0 bytes\n"), gc.stdout + gc.stderr

    references = await (await get_job_store()).get_media_references()
    named: set[str] = set()
    for version in references.versions:
        named |= published_keys(version.info)
    for job in references.jobs:
        named |= published_keys(job.result)
    media = await get_media_store()
    missing = []
    for key in sorted(named):
        try:
            await media.head(key)
        except MediaNotFound:
            missing.append(key)
    assert missing == []
    # What the flows left: the kept recording's second version, its preview and its mp3 (nothing of the other).
    listed = {info.key async for info in media.list_objects("")}
    assert len(listed) == 4, listed
    assert not [key for key in listed if doomed["assetId"] in key]
