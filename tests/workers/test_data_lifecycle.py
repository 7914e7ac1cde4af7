"""Nothing orphaned: deleting a recording, a version or a render, the end of an ingest, preview retention and the
pruning of finished jobs leave nothing in the media store that nothing refers to. The web app (in process, over
ASGI) and a worker (in process, the real handlers on real audio) on a real job store file and each media backend
(a folder, a real SeaweedFS bucket); the proof is a listing of the whole media store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from common.assets import VERSION_RESULT_KEYS, NewAssetVersion
from common.errors import StoreError
from common.jobs import Job, JobStatus, get_job_store
from common.media import asset_run_prefix, key_of_media_url, preview_prefix, upload_key
from common.media_cleanup import expire_previews
from common.media_store import MediaStore, get_media_store
from tests.support.audio_samples import sine, write_audio
from tests.support.worker_process import is_finished, wait_for_job
from tests.web.conftest import in_process_client
from workers.handler_protocol import JobContext
from workers.handlers import HANDLERS
from workers.media_gc import find_orphans, references
from workers.settings import WorkerSettings
from workers.worker import Worker

SETTINGS = WorkerSettings(heartbeat_s=0.2, lease_s=10, retry_base_s=0.05, retry_max_s=0.1)
TERMINAL = {"completed", "failed", "cancelled"}


@pytest.fixture
async def client(media_env: str) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_client() as asgi_client:
        yield asgi_client


@pytest.fixture
def wav(tmp_path: Path) -> bytes:
    return write_audio(tmp_path / "take.wav", sine(1.5, rate=16000, channels=1), rate=16000).read_bytes()


async def drain(settings: WorkerSettings = SETTINGS, handlers: dict[str, Any] | None = None) -> None:
    await asyncio.wait_for(Worker(settings, handlers or HANDLERS).run(burst=True), timeout=120)


async def all_keys(media: MediaStore) -> set[str]:
    return {info.key async for info in media.list_objects("")}


async def finished(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    body = (await client.get(f"/api/audio/jobs/{job_id}")).json()
    assert body["status"] in TERMINAL, body
    return body


async def ingest(client: httpx.AsyncClient, wav: bytes, name: str = "take.wav") -> dict[str, Any]:
    created = await client.post("/api/audio/ingest", files={"file": (name, wav)})
    assert created.status_code == 202, created.text
    await drain()
    body = await finished(client, created.json()["jobId"])
    assert body["status"] == "completed", body
    return dict(body["result"])


async def queue(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> str:
    created = await client.post(path, json=body)
    assert created.status_code == 202, created.text
    return str(created.json()["jobId"])


async def no_orphans(media: MediaStore) -> list[str]:
    refs = references(await (await get_job_store()).get_media_references())
    return [info.key for info in await find_orphans(media, refs, 0)]


async def test_deleting_a_recording_leaves_nothing_of_it_on_either_backend(
    client: httpx.AsyncClient, wav: bytes
) -> None:
    media = await get_media_store()
    kept = await ingest(client, wav, "kept.wav")
    doomed = await ingest(client, wav)
    asset_id = doomed["assetId"]
    gain = [{"op": "gain", "db": -3}]
    save = await queue(client, "/api/audio/edit/save", {"assetId": asset_id, "edits": gain})
    preview = await queue(client, "/api/audio/edit/preview", {"assetId": asset_id, "edits": gain})
    render = await queue(client, "/api/render", {"assetId": asset_id, "format": "mp3"})
    await drain()
    for job_id in (save, preview, render):
        assert (await finished(client, job_id))["status"] == "completed"
    keys = await all_keys(media)
    assert not [key for key in keys if key.startswith("uploads/")], "an upload outlived its ingest"
    mine = {key for key in keys if asset_id in key or any(job in key for job in (preview, render))}
    assert len(mine) == 6, mine  # two versions' masters and peaks, a preview, a render
    before = (await client.get("/api/audio/assets")).json()["assets"]
    assert [entry["assetId"] for entry in before] == [asset_id, kept["assetId"]]

    deleted = await client.delete(f"/api/audio/assets/{asset_id}")

    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"assetId": asset_id, "deletedVersions": [1, 2], "cancelledJobIds": []}
    assert await all_keys(media) == keys - mine
    assert (await client.get(f"/api/audio/assets/{asset_id}")).status_code == 404
    assert (await client.delete(f"/api/audio/assets/{asset_id}")).status_code == 404
    after = (await client.get("/api/audio/assets")).json()["assets"]
    assert [entry["assetId"] for entry in after] == [kept["assetId"]]
    for job_id in (save, preview, render):
        assert (await client.get(f"/api/audio/jobs/{job_id}")).status_code == 404
    for url in (doomed["audioUrl"], doomed["peaksUrl"]):
        assert (await client.get(url)).status_code == 404
    assert (await client.get(kept["audioUrl"])).status_code in (200, 307)
    assert await no_orphans(media) == []


async def test_a_recording_is_deleted_while_its_jobs_wait_or_run(client: httpx.AsyncClient, wav: bytes) -> None:
    media = await get_media_store()
    asset_id = (await ingest(client, wav))["assetId"]
    keys_before = await all_keys(media)
    render = await queue(client, "/api/render", {"assetId": asset_id, "format": "flac"})
    deleted = await client.delete(f"/api/audio/assets/{asset_id}")
    assert deleted.json()["cancelledJobIds"] == [render]
    cancelled = await finished(client, render)
    assert (cancelled["status"], cancelled["error"]["code"]) == ("cancelled", "asset_deleted")
    await drain()
    assert (await finished(client, render)) == cancelled
    assert not [key for key in await all_keys(media) if key in keys_before or render in key]


async def test_a_job_that_completes_after_its_recording_was_deleted_fails_and_removes_its_output(
    client: httpx.AsyncClient, wav: bytes
) -> None:
    media = await get_media_store()
    asset_id = (await ingest(client, wav))["assetId"]
    written: list[str] = []

    async def late_save(job: Job, ctx: JobContext) -> NewAssetVersion:
        # Its input was read before the asset was deleted (and so its job was not among those the delete cancelled).
        key = f"{asset_run_prefix(asset_id, job.id, job.lease_token or '')}/master.flac"
        await media.put_stream(key, _chunks(b"late master"))
        written.append(key)
        info = {name: None for name in VERSION_RESULT_KEYS}
        return NewAssetVersion(asset_id, {**info, "audioUrl": f"/media/{key}", "sizeBytes": 11})

    assert (await client.delete(f"/api/audio/assets/{asset_id}")).status_code == 200
    store = await get_job_store()
    job, _ = await store.create_job("edit.save", {"assetId": asset_id, "version": 1, "edits": []})
    await drain(handlers={"edit.save": late_save})
    failed = await store.get_job(job.id)
    assert failed is not None
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert failed.error.code == "asset_deleted"
    assert written
    assert await all_keys(media) == set()
    assert await store.get_asset_versions(asset_id) == []
    assert (await client.get("/api/audio/assets")).json()["assets"] == []


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_versions_and_renders_are_deleted_one_at_a_time(client: httpx.AsyncClient, wav: bytes) -> None:
    media = await get_media_store()
    first = await ingest(client, wav)
    asset_id = first["assetId"]
    save = await queue(client, "/api/audio/edit/save", {"assetId": asset_id, "edits": [{"op": "gain", "db": -2}]})
    render = await queue(client, "/api/render", {"assetId": asset_id, "version": 1, "format": "mp3"})
    await drain()
    second = (await finished(client, save))["result"]
    render_key = key_of_media_url((await finished(client, render))["result"]["url"])
    assert render_key in await all_keys(media)

    gone = await client.delete(f"/api/audio/assets/{asset_id}/versions/1")

    assert gone.status_code == 200, gone.text
    assert [version["version"] for version in gone.json()["versions"]] == [2]
    keys = await all_keys(media)
    assert key_of_media_url(first["audioUrl"]) not in keys
    assert key_of_media_url(first["peaksUrl"]) not in keys
    assert key_of_media_url(second["audioUrl"]) in keys
    listed = (await client.get("/api/audio/assets")).json()["assets"]
    assert [(entry["assetId"], entry["versions"], entry["latestVersion"]) for entry in listed] == [(asset_id, 1, 2)]
    last = await client.delete(f"/api/audio/assets/{asset_id}/versions/2")
    assert last.status_code == 409
    assert last.json()["error"]["code"] == "last_version"
    assert (await client.delete(f"/api/audio/assets/{asset_id}/versions/1")).status_code == 404
    assert (await client.delete(f"/api/audio/assets/{asset_id}/versions/x")).status_code == 404

    assert (await client.delete(f"/api/audio/assets/{'0' * 32}/renders/{render}")).status_code == 404
    assert (await client.delete(f"/api/audio/assets/{asset_id}/renders/{save}")).status_code == 404
    dropped = await client.delete(f"/api/audio/assets/{asset_id}/renders/{render}")
    assert dropped.status_code == 204
    assert render_key not in await all_keys(media)
    assert (await client.get(f"/api/audio/jobs/{render}")).status_code == 404
    assert (await client.delete(f"/api/audio/assets/{asset_id}/renders/{render}")).status_code == 404
    assert await no_orphans(media) == []


async def test_kept_originals_are_downloadable_counted_and_deleted_with_the_recording(
    client: httpx.AsyncClient, wav: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEEP_ORIGINALS", "1")
    media = await get_media_store()
    asset_id = (await ingest(client, wav, "Interview.WAV"))["assetId"]
    version = (await client.get(f"/api/audio/assets/{asset_id}")).json()["versions"][0]
    original = key_of_media_url(version["originalUrl"])
    assert original is not None
    assert original.endswith("/original.wav")
    # Served like a master: the bytes (local) or a redirect to a presigned URL (s3).
    assert (await client.get(version["originalUrl"])).status_code in (200, 302, 307)
    assert await media.get_bytes(original) == wav
    master = (await media.head(key_of_media_url(version["audioUrl"]) or "")).size_bytes
    peaks = (await media.head(key_of_media_url(version["peaksUrl"]) or "")).size_bytes
    listed = (await client.get("/api/audio/assets")).json()["assets"][0]
    assert listed["storageBytes"] == master + peaks + len(wav)
    assert not [key for key in await all_keys(media) if key.startswith("uploads/")]
    assert (await client.delete(f"/api/audio/assets/{asset_id}")).status_code == 200
    assert await all_keys(media) == set()


async def test_the_upload_stays_while_an_ingest_may_retry_and_goes_when_it_ends(
    client: httpx.AsyncClient, wav: bytes
) -> None:
    media = await get_media_store()
    store = await get_job_store()
    seen: list[bool] = []

    async def flaky_ingest(job: Job, ctx: JobContext) -> NewAssetVersion:
        seen.append(upload_key(job.payload["uploadId"]) in await all_keys(media))
        if job.attempts == 1:
            raise StoreError("the store was busy", transient=True)
        return await HANDLERS["ingest"](job, ctx)

    created = await client.post("/api/audio/ingest", files={"file": ("take.wav", wav)})
    worker = Worker(SETTINGS, {"ingest": flaky_ingest})
    running = asyncio.create_task(worker.run())
    try:
        done = await wait_for_job(store, created.json()["jobId"], is_finished, timeout_s=60)
    finally:
        worker.stop()
        await running
    assert seen == [True, True]
    assert done.status is JobStatus.COMPLETED

    broken = await client.post("/api/audio/ingest", files={"file": ("noise.wav", b"RIFF" + bytes(2000))})
    cancelled = await client.post("/api/audio/ingest", files={"file": ("later.wav", wav)})
    assert (await client.delete(f"/api/audio/jobs/{cancelled.json()['jobId']}")).json()["status"] == "cancelled"
    await drain()
    assert (await finished(client, broken.json()["jobId"]))["status"] == "failed"
    assert not [key for key in await all_keys(media) if key.startswith("uploads/")]
    assert [job.status for job in await store.list_jobs(job_type="ingest")].count(JobStatus.COMPLETED) == 1


async def test_upkeep_expires_previews_and_prunes_jobs_with_their_files(client: httpx.AsyncClient, wav: bytes) -> None:
    media = await get_media_store()
    asset_id = (await ingest(client, wav))["assetId"]
    preview = await queue(client, "/api/audio/edit/preview", {"assetId": asset_id, "edits": []})
    await drain()
    assert [key for key in await all_keys(media) if key.startswith(preview_prefix(preview) + "/")]
    await asyncio.sleep(0.3)
    render = await queue(client, "/api/render", {"assetId": asset_id, "format": "mp3"})
    # Previews older than 0.2 s expire; jobs finished over 0.2 s ago are pruned, files with them.
    await drain(replace(SETTINGS, preview_retention_hours=0.2 / 3600, retention_days=0.2 / 86400))
    keys = await all_keys(media)
    assert not [key for key in keys if key.startswith("previews/")]
    assert (await client.get(f"/api/audio/jobs/{preview}")).status_code == 404
    render_key = key_of_media_url((await finished(client, render))["result"]["url"])
    assert render_key in keys
    assert (await client.get(f"/api/audio/assets/{asset_id}")).status_code == 200
    assert {key for key in keys if key.startswith("assets/")}, "the versions outlive the jobs that made them"
    await asyncio.sleep(0.3)
    await drain(replace(SETTINGS, retention_days=0.2 / 86400))
    assert render_key not in await all_keys(media)
    assert await no_orphans(media) == []


async def test_a_preview_is_expired_only_once_its_job_ended(media_env: str) -> None:
    store = await get_job_store()
    media = await get_media_store()
    job, _ = await store.create_job("edit.preview", {"assetId": "a" * 32, "version": 1, "edits": []})
    run = await store.claim_next_job("test-worker", 30, ["edit.preview"])
    assert run is not None
    key = f"{preview_prefix(job.id)}/run/preview.mp3"
    await media.put_stream(key, _chunks(b"mp3"))
    # A preview whose job is gone (pruned, or never recorded) expires like one whose job ended.
    await media.put_stream(f"{preview_prefix('b' * 32)}/run/preview.mp3", _chunks(b"mp3"))
    assert await expire_previews(store, media, 0) == 1
    assert await all_keys(media) == {key}
    assert await store.complete_job(job.id, run.lease_token or "", {"previewUrl": f"/media/{key}"})
    assert await expire_previews(store, media, 3600) == 0
    assert await all_keys(media) == {key}
    assert await expire_previews(store, media, 0) == 1
    assert await all_keys(media) == set()
