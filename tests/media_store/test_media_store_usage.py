"""The media store's account and ``MEDIA_MAX_BYTES`` on both backends (a local folder, a real SeaweedFS bucket),
reached through ``get_media_store()`` as the app does; and writes into a real full disk: a 1 MiB tmpfs under
``MEDIA_ROOT``, and a SeaweedFS whose data folder is a small tmpfs."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import obstore
import pytest

from common.config import media_max_bytes
from common.errors import ConfigurationError
from common.media_store import MediaStore, MediaStoreError, MediaStoreFull, close_media_store, get_media_store
from tests.support.filesystems import mounted_tmpfs
from tests.support.s3_media import new_bucket, use_s3
from tests.support.seaweedfs import running_seaweedfs

LIMIT = 3 * 1024 * 1024


async def listed_bytes(store: MediaStore) -> int:
    return sum([info.size_bytes async for info in store.list_objects()])


async def chunks_of(total: int, size: int = 256 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        chunk = os.urandom(min(size, total - sent))
        sent += len(chunk)
        yield chunk


def every_file(root: Path) -> list[str]:
    """Every file under ``root``, hidden ones (a write's temporary file) included."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


async def test_used_bytes_is_what_the_store_holds(media_store: MediaStore, tmp_path: Path) -> None:
    assert await media_store.used_bytes() == 0
    await media_store.put_stream("uploads/a", chunks_of(300_000))
    source = tmp_path / "master.flac"
    source.write_bytes(os.urandom(120_000))
    await media_store.put_file("assets/x/j/r/master.flac", source, consume=True)
    await media_store.put_file("assets/x/j/r/peaks.json", _file(tmp_path / "peaks.json", 5_000))
    await media_store.put_stream("uploads/a", chunks_of(1_000))
    assert await media_store.used_bytes() == await listed_bytes(media_store) == 1_000 + 120_000 + 5_000
    await media_store.delete_prefix("assets/x")
    assert await media_store.used_bytes() == await listed_bytes(media_store) == 1_000
    await media_store.delete("uploads/a")
    assert await media_store.used_bytes() == 0


@pytest.fixture
def limited(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("MEDIA_MAX_BYTES", str(LIMIT))
    return LIMIT


# ``limited`` comes before ``media_store`` so the store opens with the limit.
async def test_a_stream_that_outgrows_the_limit_is_refused_and_leaves_nothing(
    limited: int, media_store: MediaStore
) -> None:
    await media_store.put_stream("uploads/first", chunks_of(limited // 2))
    with pytest.raises(MediaStoreFull) as refused:
        await media_store.put_stream("uploads/second", chunks_of(limited))
    assert refused.value.code == "storage_full"
    assert refused.value.transient
    assert [info.key async for info in media_store.list_objects()] == ["uploads/first"]
    assert await media_store.used_bytes() == limited // 2
    assert await media_store.free_bytes() == limited - limited // 2
    # Exactly what is left still fits.
    await media_store.put_stream("uploads/rest", chunks_of(limited - limited // 2))
    assert await media_store.free_bytes() == 0


async def test_a_declared_size_that_does_not_fit_is_refused_before_a_byte_is_read(
    limited: int, media_store: MediaStore
) -> None:
    started = False

    async def never_read() -> AsyncIterator[bytes]:
        nonlocal started
        started = True
        yield b"x"

    with pytest.raises(MediaStoreFull):
        await media_store.put_stream("uploads/big", never_read(), expected_bytes=limited + 1)
    assert not started
    assert await media_store.used_bytes() == 0


async def test_a_file_that_does_not_fit_is_refused_and_kept_by_the_caller(
    limited: int, media_store: MediaStore, tmp_path: Path
) -> None:
    source = _file(tmp_path / "render.wav", limited + 1)
    with pytest.raises(MediaStoreFull):
        await media_store.put_file("renders/j/r/render.wav", source, consume=True)
    assert source.exists()
    assert [info async for info in media_store.list_objects()] == []
    assert await media_store.used_bytes() == 0


async def test_the_limit_is_shared_by_every_process_through_the_job_store(
    limited: int, media_store: MediaStore
) -> None:
    await media_store.put_stream("uploads/here", chunks_of(limited - 1000))
    # Another process: a store opened afresh, counting on the same job store.
    await close_media_store()
    other = await get_media_store()
    with pytest.raises(MediaStoreFull):
        await other.put_stream("uploads/there", chunks_of(1001))
    await other.put_stream("uploads/there", chunks_of(1000))


def test_a_malformed_limit_stops_the_store_from_opening(monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in ("0", "-5", "1e9", "2GiB", "\uff11\uff12"):
        monkeypatch.setenv("MEDIA_MAX_BYTES", bad)
        with pytest.raises(ConfigurationError, match="MEDIA_MAX_BYTES"):
            media_max_bytes()


@pytest.fixture
def tiny_media_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "tiny", 1024 * 1024) as mount_point:
        monkeypatch.setenv("MEDIA_BACKEND", "local")
        monkeypatch.setenv("MEDIA_ROOT", str(mount_point))
        yield mount_point


async def test_a_full_disk_is_storage_full_and_leaves_no_partial_file(tiny_media_root: Path, tmp_path: Path) -> None:
    store = await get_media_store()
    before = every_file(tiny_media_root)
    with pytest.raises(MediaStoreFull):
        await store.put_stream("uploads/big", chunks_of(2 * 1024 * 1024))
    with pytest.raises(MediaStoreFull):
        # From another file system: copied in, and the copy fills the disk.
        await store.put_file("renders/j/r/big.wav", _file(tmp_path / "big.wav", 2 * 1024 * 1024), consume=True)
    assert every_file(tiny_media_root) == before
    assert await store.used_bytes() == 0
    assert 0 < (await store.free_bytes() or 0) <= 1024 * 1024
    await store.put_stream("uploads/small", chunks_of(1000))
    assert await store.used_bytes() == 1000


async def test_a_bucket_whose_disk_fills_up_keeps_no_partial_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SeaweedFS answers a full disk with a plain 500 ``InternalError`` (checked here), so the write fails as a
    transient media store error, not ``storage_full``; what matters holds: nothing of it is kept or counted."""
    with mounted_tmpfs(tmp_path / "weed", 48 * 1024 * 1024) as data, running_seaweedfs(data) as server:
        bucket = new_bucket(server)
        use_s3(monkeypatch, server, bucket)
        store = await get_media_store()
        stored, failed = await fill_until_refused(store)
        assert failed.transient
        assert stored, "the first upload should have fitted"
        assert sorted([info.key async for info in store.list_objects()]) == sorted(stored)
        assert await store.used_bytes() == await listed_bytes(store)
        pending = await obstore.list(server.s3_store(bucket), prefix="uploads/").collect_async()
        assert sorted(meta["path"] for meta in pending) == sorted(stored)
        await close_media_store()


async def fill_until_refused(store: MediaStore) -> tuple[list[str], MediaStoreError]:
    """8 MiB uploads until one fails: the keys stored before it, and its error."""
    stored: list[str] = []
    for index in range(12):
        try:
            await store.put_stream(f"uploads/u{index}", chunks_of(8 * 1024 * 1024, 1024 * 1024))
        except MediaStoreError as exc:
            return stored, exc
        stored.append(f"uploads/u{index}")
    raise AssertionError(f"{len(stored)} uploads of 8 MiB fitted on a 48 MiB disk")


def _file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path
