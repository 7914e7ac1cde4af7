"""``python -m workers media-gc``: a real process on a real job store file and each media backend (a folder, a
real SeaweedFS bucket) lists and removes exactly the files nothing refers to, and leaves the rest alone."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from common.config import PROJECT_ROOT
from common.jobs import JobError, get_job_store
from common.media import asset_run_prefix, media_url, render_run_prefix, upload_key
from common.media_store import MediaStore, check_media_identity, close_media_store, get_media_store
from workers import operator_command


def gc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers", "media-gc", *args],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _bytes(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def put(media: MediaStore, key: str) -> str:
    await media.put_stream(key, _bytes(b"x" * 10))
    return key


async def keys(media: MediaStore) -> set[str]:
    return {info.key async for info in media.list_objects("")}


async def test_media_gc_lists_then_removes_only_what_nothing_refers_to(media_env: str) -> None:
    store = await get_job_store()
    media = await get_media_store()
    await check_media_identity(store, media)
    asset = "a" * 32

    # Referenced: a version's files, a finished render's file, a queued ingest's upload, a running job's output.
    version_job = "1" * 32
    master = await put(media, f"{asset_run_prefix(asset, version_job, 'token-1')}/master.flac")
    await store.add_asset_version(asset, version_job, {"audioUrl": media_url(master)})
    render, _ = await store.create_job("render", {"assetId": asset, "version": 1})
    claimed = await store.claim_next_job("gc-test", 30, ["render"])
    assert claimed is not None
    rendered = await put(media, f"{render_run_prefix(render.id, claimed.lease_token or '')}/take.mp3")
    assert await store.complete_job(render.id, claimed.lease_token or "", {"url": media_url(rendered)})
    failed, _ = await store.create_job("ingest", {"assetId": "c" * 32, "uploadId": "3" * 32})
    failed_run = await store.claim_next_job("gc-test", 30, ["ingest"])
    assert failed_run is not None
    assert await store.fail_job(failed.id, failed_run.lease_token or "", JobError("unsupported_media", "no"))
    await store.create_job("ingest", {"assetId": "b" * 32, "uploadId": "2" * 32})
    waiting_upload = await put(media, upload_key("2" * 32))
    running, _ = await store.create_job("edit.save", {"assetId": asset, "version": 1})
    run = await store.claim_next_job("gc-test", 30, ["edit.save"])
    assert run is not None
    in_progress = await put(media, f"{asset_run_prefix(asset, running.id, run.lease_token or '')}/master.flac")

    # Orphans: a failed ingest's upload and output (its job is above), a render whose job row is gone, an
    # unreferenced run of a job.
    orphans = {
        await put(media, upload_key("3" * 32)),
        await put(media, f"{asset_run_prefix('c' * 32, failed.id, 'token-2')}/master.flac"),
        await put(media, f"renders/{'4' * 32}/run/old.mp3"),
        await put(media, f"{render_run_prefix(render.id, 'another-run')}/take.mp3"),
    }
    foreign = await put(media, "backups/not-ours.bin")
    everything = await keys(media)
    await close_media_store()

    young = gc("--dry-run")
    assert (young.returncode, young.stdout.splitlines()[-1]) == (0, "0 orphan(s) found, 0 bytes"), young.stderr

    listed = gc("--dry-run", "--min-age-s", "0")
    assert listed.returncode == 1, listed.stderr
    assert {line.split()[1] for line in listed.stdout.splitlines()[:-1]} == orphans
    assert listed.stdout.splitlines()[-1] == f"{len(orphans)} orphan(s) found, {10 * len(orphans)} bytes"
    media = await get_media_store()
    assert await keys(media) == everything
    await close_media_store()

    removed = gc("--min-age-s", "0")
    assert removed.returncode == 0, removed.stderr
    assert {line.split()[1] for line in removed.stdout.splitlines()[:-1]} == orphans
    media = await get_media_store()
    assert await keys(media) == everything - orphans
    assert {master, rendered, waiting_upload, in_progress, foreign} <= everything - orphans
    assert gc("--dry-run", "--min-age-s", "0").returncode == 0


async def test_media_gc_refuses_another_media_store_and_bad_arguments(
    media_env: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: os.PathLike[str],
) -> None:
    store = await get_job_store()
    await check_media_identity(store, await get_media_store())
    await close_media_store()
    monkeypatch.setenv("MEDIA_BACKEND", "local")
    monkeypatch.setenv("MEDIA_ROOT", os.path.join(tmp_path, "another-media-root"))
    other = gc("--dry-run")
    assert other.returncode == operator_command.EXIT_USAGE
    assert "media_store_mismatch" in other.stderr or "not the one" in other.stderr
    assert gc("--min-age-s", "-1").returncode == 2
    assert gc("--unknown").returncode == 2
