"""The contract every media store backend must pass unchanged: local (real files) and s3 (a real SeaweedFS with
signing enforced). The store is reached the way the application reaches it, through ``get_media_store()``."""

from __future__ import annotations

import asyncio
import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common.media_store import (
    InvalidMediaKey,
    InvalidMediaRange,
    MediaNotFound,
    MediaStore,
    close_media_store,
    get_media_store,
)
from common.media_store.s3 import PART_BYTES

#: More than two s3 parts, so a streaming put really is a multipart upload of several parts.
LARGE_BYTES = 2 * PART_BYTES + 123_457


def sample_bytes(size: int, seed: int = 0) -> bytes:
    """Bytes that differ at every offset, so a shifted or reordered range cannot compare equal."""
    block = hashlib.sha256(str(seed).encode()).digest()
    blocks = bytearray()
    counter = 0
    while len(blocks) < size:
        blocks += hashlib.sha256(block + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(blocks[:size])


async def chunks_of(data: bytes, chunk_bytes: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A body arriving the way a request body does: small chunks, with a yield to the loop between them."""
    for offset in range(0, len(data), chunk_bytes):
        await asyncio.sleep(0)
        yield data[offset : offset + chunk_bytes]


async def failing_after(data: bytes, error: Exception) -> AsyncIterator[bytes]:
    async for chunk in chunks_of(data):
        yield chunk
    raise error


async def keys_under(store: MediaStore, prefix: str = "") -> set[str]:
    return {info.key async for info in store.list_objects(prefix)}


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (the test's own loopback server)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# -- writing and reading whole objects -------------------------------------------------------------------------


async def test_put_stream_stores_every_byte_in_order(media_store: MediaStore) -> None:
    data = sample_bytes(LARGE_BYTES)
    info = await media_store.put_stream("uploads/big", chunks_of(data), content_type="audio/flac")
    assert (info.key, info.size_bytes) == ("uploads/big", len(data))
    assert info.etag
    assert await media_store.get_bytes("uploads/big") == data
    assert await media_store.head("uploads/big") == info


async def test_put_stream_of_an_empty_body_stores_an_empty_object(media_store: MediaStore) -> None:
    info = await media_store.put_stream("empty/object", chunks_of(b""))
    assert info.size_bytes == 0
    assert await media_store.get_bytes("empty/object") == b""


async def test_put_replaces_an_object_whole(media_store: MediaStore) -> None:
    await media_store.put_stream("a/b", chunks_of(b"first version, longer"))
    first = await media_store.head("a/b")
    await media_store.put_stream("a/b", chunks_of(b"second"))
    assert await media_store.get_bytes("a/b") == b"second"
    assert (await media_store.head("a/b")).etag != first.etag


async def test_put_file_and_get_file_round_trip(media_store: MediaStore, tmp_path: Path) -> None:
    data = sample_bytes(PART_BYTES + 1000, seed=1)
    source = tmp_path / "scratch" / "master.flac"
    source.parent.mkdir()
    source.write_bytes(data)
    info = await media_store.put_file("assets/a1/j1/master.flac", source)
    assert info.size_bytes == len(data)
    assert source.read_bytes() == data
    copy = tmp_path / "elsewhere" / "input.flac"
    fetched = await media_store.get_file("assets/a1/j1/master.flac", copy)
    assert copy.read_bytes() == data
    assert fetched.size_bytes == len(data)
    assert [path.name for path in copy.parent.iterdir()] == ["input.flac"]


async def test_put_file_consuming_the_source_removes_it(media_store: MediaStore, tmp_path: Path) -> None:
    source = tmp_path / "render.mp3"
    source.write_bytes(b"rendered bytes")
    await media_store.put_file("renders/j2/render.mp3", source, consume=True)
    assert not source.exists()
    assert await media_store.get_bytes("renders/j2/render.mp3") == b"rendered bytes"


# -- ranges ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [(0, 10, slice(0, 10)), (5, None, slice(5, None)), (1000, 1001, slice(1000, 1001)), (990, 5000, slice(990, None))],
)
async def test_get_by_range(media_store: MediaStore, start: int, end: int | None, expected: slice) -> None:
    data = sample_bytes(1000, seed=2)
    await media_store.put_stream("peaks/p.json", chunks_of(data))
    if start >= len(data):
        with pytest.raises(InvalidMediaRange):
            await media_store.get_bytes("peaks/p.json", start=start, end=end)
        return
    assert await media_store.get_bytes("peaks/p.json", start=start, end=end) == data[expected]


async def test_get_stream_reports_the_whole_object_and_the_range_it_reads(media_store: MediaStore) -> None:
    data = sample_bytes(LARGE_BYTES, seed=3)
    await media_store.put_stream("previews/j3/preview.mp3", chunks_of(data))
    start = PART_BYTES - 17
    async with await media_store.get_stream("previews/j3/preview.mp3", start=start) as stream:
        assert (stream.info.size_bytes, stream.start, stream.end) == (len(data), start, len(data))
        assert stream.length_bytes == len(data) - start
        received = b"".join([chunk async for chunk in stream.chunks])
    assert received == data[start:]


@pytest.mark.parametrize(("start", "end"), [(-1, None), (5, 5), (6, 2)])
async def test_empty_or_negative_ranges_are_refused(media_store: MediaStore, start: int, end: int | None) -> None:
    await media_store.put_stream("r/x", chunks_of(b"0123456789"))
    with pytest.raises(InvalidMediaRange) as raised:
        await media_store.get_bytes("r/x", start=start, end=end)
    assert raised.value.code == "range_not_satisfiable"


# -- presigned URLs --------------------------------------------------------------------------------------------


async def test_presigned_url_serves_a_range(media_store: MediaStore, media_env: str) -> None:
    data = sample_bytes(5000, seed=4)
    await media_store.put_stream("renders/j4/out.mp3", chunks_of(data), content_type="audio/mpeg")
    url = await media_store.presigned_get_url("renders/j4/out.mp3", expires_s=60)
    if media_env == "local":
        assert url is None
        return
    assert url is not None
    status, body = await asyncio.to_thread(fetch, url, {"Range": "bytes=100-299"})
    assert (status, body) == (206, data[100:300])
    unsigned_status, _ = await asyncio.to_thread(fetch, url.split("?", 1)[0], {"Range": "bytes=100-299"})
    assert unsigned_status == 403


# -- missing objects -------------------------------------------------------------------------------------------


async def test_missing_key_is_a_clear_error_everywhere(media_store: MediaStore, tmp_path: Path) -> None:
    destination = tmp_path / "scratch" / "input"
    for read in (
        media_store.head("nothing/here"),
        media_store.get_bytes("nothing/here"),
        media_store.get_stream("nothing/here", start=3),
        media_store.get_file("nothing/here", destination),
    ):
        with pytest.raises(MediaNotFound) as raised:
            await read
        assert raised.value.code == "media_missing"
        assert "nothing/here" in raised.value.message
    assert not destination.exists()


async def test_delete_removes_and_tolerates_a_missing_key(media_store: MediaStore) -> None:
    await media_store.put_stream("uploads/u1", chunks_of(b"bytes"))
    await media_store.delete("uploads/u1")
    with pytest.raises(MediaNotFound):
        await media_store.head("uploads/u1")
    await media_store.delete("uploads/u1")


# -- prefixes --------------------------------------------------------------------------------------------------


async def test_list_gives_keys_sizes_and_times_below_a_prefix(media_store: MediaStore) -> None:
    before = datetime.now(UTC) - timedelta(minutes=5)
    contents = {"assets/a/j1/master.flac": b"m" * 300, "assets/a/j1/peaks.json": b"p" * 20, "assets/ab/j2/x": b"x"}
    for key, data in contents.items():
        await media_store.put_stream(key, chunks_of(data))
    listed = {info.key: info async for info in media_store.list_objects("assets/a")}
    assert set(listed) == {"assets/a/j1/master.flac", "assets/a/j1/peaks.json"}
    for key, info in listed.items():
        assert info.size_bytes == len(contents[key])
        assert before < info.modified_at < datetime.now(UTC) + timedelta(minutes=5)
    assert await keys_under(media_store) == set(contents)
    assert await keys_under(media_store, "previews") == set()


async def test_delete_prefix_removes_exactly_the_folder(media_store: MediaStore) -> None:
    doomed = ["renders/j5/out.mp3", "renders/j5/part/1", "renders/j5/part/2"]
    kept = ["renders/j50/out.mp3", "renders/j5.mp3", "previews/j5/p.mp3"]
    for key in doomed + kept:
        await media_store.put_stream(key, chunks_of(key.encode()))
    assert await media_store.delete_prefix("renders/j5") == len(doomed)
    assert await keys_under(media_store) == set(kept)
    assert await media_store.delete_prefix("renders/j5") == 0


async def test_delete_prefix_never_empties_the_whole_store(media_store: MediaStore) -> None:
    await media_store.put_stream("uploads/keep", chunks_of(b"k"))
    with pytest.raises(InvalidMediaKey):
        await media_store.delete_prefix("")
    assert await keys_under(media_store) == {"uploads/keep"}


# -- keys ------------------------------------------------------------------------------------------------------

INVALID_KEYS = [
    "",
    "/etc/passwd",
    "../outside",
    "uploads/../../outside",
    "a//b",
    "a/",
    "a/./b",
    ".media-store-id",
    "uploads/.hidden",
    "a\\b",
    "a\x00b",
    "a\nb",
    "x" * 1025,
]


@pytest.mark.parametrize("key", INVALID_KEYS)
async def test_invalid_keys_are_refused_by_every_operation(media_store: MediaStore, key: str, tmp_path: Path) -> None:
    operations = [
        media_store.put_stream(key, chunks_of(b"x")),
        media_store.put_file(key, Path(__file__)),
        media_store.head(key),
        media_store.get_bytes(key),
        media_store.get_file(key, tmp_path / "copy"),
        media_store.presigned_get_url(key, expires_s=60),
        media_store.delete(key),
    ]
    if key:
        operations.append(media_store.delete_prefix(key))
    for operation in operations:
        with pytest.raises(InvalidMediaKey) as raised:
            await operation
        assert raised.value.code == "invalid_media_key"
    with pytest.raises(InvalidMediaKey):
        [info async for info in media_store.list_objects(key or "/")]
    assert await keys_under(media_store) == set()
    assert not (tmp_path / "outside").exists()


async def test_a_symlink_cannot_lead_a_key_out_of_media_root(
    media_store: MediaStore, media_env: str, media_root: Path, tmp_path: Path
) -> None:
    if media_env != "local":
        pytest.skip("symlinks exist only under a local MEDIA_ROOT")
    outside = tmp_path / "outside"
    outside.mkdir()
    (media_root / "escape").symlink_to(outside)
    with pytest.raises(InvalidMediaKey):
        await media_store.put_stream("escape/x", chunks_of(b"x"))
    with pytest.raises(InvalidMediaKey):
        await media_store.delete_prefix("escape")
    assert list(outside.iterdir()) == []


# -- failed and cancelled writes -------------------------------------------------------------------------------


async def test_an_aborted_streaming_put_leaves_nothing(
    media_store: MediaStore, media_env: str, media_root: Path
) -> None:
    with pytest.raises(ConnectionResetError):
        await media_store.put_stream(
            "uploads/aborted", failing_after(sample_bytes(LARGE_BYTES), ConnectionResetError("client went away"))
        )
    with pytest.raises(MediaNotFound):
        await media_store.head("uploads/aborted")
    assert await keys_under(media_store) == set()
    if media_env == "local":
        assert list((media_root / "uploads").iterdir()) == []


async def test_an_aborted_put_keeps_the_previous_object(media_store: MediaStore) -> None:
    await media_store.put_stream("assets/a/j/master.flac", chunks_of(b"complete"))
    with pytest.raises(ValueError, match="bad chunk"):
        await media_store.put_stream("assets/a/j/master.flac", failing_after(b"partial", ValueError("bad chunk")))
    assert await media_store.get_bytes("assets/a/j/master.flac") == b"complete"


async def test_a_cancelled_streaming_put_leaves_nothing(
    media_store: MediaStore, media_env: str, media_root: Path
) -> None:
    started = asyncio.Event()

    async def endless() -> AsyncIterator[bytes]:
        chunk = sample_bytes(256 * 1024)
        while True:
            started.set()
            await asyncio.sleep(0.001)
            yield chunk

    put = asyncio.create_task(media_store.put_stream("uploads/cancelled", endless()))
    await started.wait()
    await asyncio.sleep(0.2)
    put.cancel()
    with pytest.raises(asyncio.CancelledError):
        await put
    with pytest.raises(MediaNotFound):
        await media_store.head("uploads/cancelled")
    if media_env == "local":
        assert list((media_root / "uploads").iterdir()) == []


# -- identity --------------------------------------------------------------------------------------------------


async def test_identity_is_kept_by_the_store(media_store: MediaStore) -> None:
    first_id = media_store.store_id
    assert len(first_id) == 32
    await close_media_store()
    reopened = await get_media_store()
    assert reopened is not media_store
    assert reopened.store_id == first_id
    assert await keys_under(reopened) == set()


async def test_concurrent_first_openings_agree_on_one_identity(media_env: str, media_root: Path) -> None:
    from common.media_store.factory import open_configured_media_store

    stores = await asyncio.gather(*(open_configured_media_store() for _ in range(5)))
    assert len({store.store_id for store in stores}) == 1
    for store in stores:
        await store.close()
    if media_env == "local":
        assert sorted(os.listdir(media_root)) == [".media-store-id"]
