"""``python -m workers media-usage [--recount]`` as a real process, on a local folder and a real SeaweedFS bucket
holding media the account never saw (stored before it existed): the recount makes it match the listing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator

import obstore
import pytest

from common.config import PROJECT_ROOT, media_root
from common.jobs import get_job_store
from common.media_store import MediaStore, close_media_store, get_media_store
from tests.support.s3_media import new_bucket, use_s3
from tests.support.seaweedfs import SeaweedFSServer


def media_usage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers", "media-usage", *args],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def listed_bytes(media: MediaStore) -> int:
    return sum([info.size_bytes async for info in media.list_objects()])


@pytest.mark.parametrize("backend", ["local", "s3"])
async def test_a_recount_counts_media_stored_before_the_account(
    backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIA_MAX_BYTES", str(10_000_000))
    bucket = ""
    if backend == "s3":
        server: SeaweedFSServer = request.getfixturevalue("seaweedfs")
        bucket = new_bucket(server)
        use_s3(monkeypatch, server, bucket)
    media = await get_media_store()
    await media.put_stream("uploads/counted", _chunks(1_000))
    # Written behind the account's back, as a deployment from before it did.
    for index, size in enumerate((123_456, 78_901)):
        key = f"assets/a{index}/job/run/master.flac"
        if backend == "s3":
            await obstore.put_async(server.s3_store(bucket), key, os.urandom(size))
        else:
            path = media_root() / key
            path.parent.mkdir(parents=True)
            path.write_bytes(os.urandom(size))
    # A record of an object that is gone (a delete whose record was lost).
    store = await get_job_store()
    assert await store.reserve_media_bytes("uploads/lost", "w", 5_000, None)
    await store.record_media_object("uploads/lost", "w", 5_000)
    await close_media_store()

    shown = media_usage()
    assert shown.returncode == 0, shown.stderr
    assert "used: 6000 bytes" in shown.stdout
    assert "limit (MEDIA_MAX_BYTES): 10000000 bytes" in shown.stdout

    recounted = media_usage("--recount")
    assert recounted.returncode == 0, recounted.stderr
    total = 1_000 + 123_456 + 78_901
    assert f"6000 bytes before, {total} bytes now" in recounted.stdout
    media = await get_media_store()
    assert await media.used_bytes() == await listed_bytes(media) == total
    free = await media.free_bytes()
    assert free is not None
    assert free <= 10_000_000 - total


async def _chunks(size: int) -> AsyncIterator[bytes]:
    yield os.urandom(size)
