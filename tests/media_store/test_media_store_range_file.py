"""``RangedObject`` on each media store (S3: a real SeaweedFS): files opened on it from another thread read the
object's bytes at any position, fetch only the blocks they read (and a few ahead when reading forwards), share
those blocks with the object's other files, and count what they fetched; a missing object is ``MediaNotFound``."""

from __future__ import annotations

import asyncio
import io
import secrets
from collections.abc import AsyncIterator

import pytest

from common.media_store import MediaNotFound, MediaStore
from common.media_store.range_file import BLOCK_BYTES, MAX_READ_AHEAD_BLOCKS, RangedObject

KEY = "assets/a/v1/r/master.flac"
SIZE = 40 * BLOCK_BYTES + 1234


async def test_files_read_the_objects_bytes_fetching_the_blocks_they_read(media_store: MediaStore) -> None:
    content = secrets.token_bytes(SIZE)
    await media_store.put_stream(KEY, _chunks(content))
    ranged = await RangedObject.of(media_store, KEY)
    assert ranged.size_bytes == SIZE

    def read_at(positions: list[int], length: int) -> list[bytes]:
        with ranged.open() as file:
            pieces = []
            for position in positions:
                file.seek(position)
                pieces.append(file.read(length))
            return pieces

    positions = [10 * BLOCK_BYTES - 100, 30 * BLOCK_BYTES + 7, SIZE - 50]
    pieces = await asyncio.to_thread(read_at, positions, 200)
    assert pieces == [content[position : position + 200] for position in positions]
    # Blocks 9 and 10, 30, 40 (the last, short): nothing read ahead, since no three blocks were read in a row.
    assert ranged.fetches == 4
    assert ranged.fetched_bytes == 3 * BLOCK_BYTES + SIZE % BLOCK_BYTES

    # Another file reads the same blocks from the object's cache.
    assert await asyncio.to_thread(read_at, positions, 200) == pieces
    assert ranged.fetches == 4

    # Reading forwards fetches ahead, a bounded number of blocks past what was read (blocks 0 to 19, of which 9 and
    # 10 are cached).
    whole = await asyncio.to_thread(read_at, [0], 20 * BLOCK_BYTES)
    assert whole == [content[: 20 * BLOCK_BYTES]]
    await _settled(ranged)
    assert 18 < ranged.fetches - 4 <= 18 + MAX_READ_AHEAD_BLOCKS


async def test_a_missing_object_is_not_found(media_store: MediaStore) -> None:
    with pytest.raises(MediaNotFound):
        await RangedObject.of(media_store, KEY)


async def _chunks(content: bytes) -> AsyncIterator[bytes]:
    view = io.BytesIO(content)
    while chunk := view.read(1 << 20):
        yield chunk


async def _settled(ranged: RangedObject) -> None:
    """Wait until the fetches read ahead have arrived (they run on this loop): no new one for five checks."""
    steady = 0
    while steady < 5:
        before = ranged.fetches
        await asyncio.sleep(0.02)
        steady = steady + 1 if ranged.fetches == before else 0
