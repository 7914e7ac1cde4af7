"""A media store's object read as a local, seekable file through byte ranges, so a reader that needs a few parts of
a large object (a span of a master, excerpts around edit points) fetches those parts only, never the whole.

``RangeFile`` is the file (PyAV opens it like any other); ``FetchRange`` is how it gets bytes. ``RangedObject``
gives such files for one object of a store from threads that are not the store's event loop (a worker's handler
thread and the decoding threads it starts): each ranged read is handed to the loop with
``asyncio.run_coroutine_threadsafe`` and waited for, and the bytes fetched are counted, so a job can log what it
read. The web, whose threads belong to AnyIO, builds its ``FetchRange`` with ``anyio.from_thread`` instead.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, BinaryIO

from common.media_store.store import MediaStore

#: Bytes fetched per ranged read: a seek probes a few places in the file, then decoding reads forwards. A round
#: trip to an object store costs more than its bytes (tens of ms against the few that 256 KiB take to arrive).
BLOCK_BYTES = 256 * 1024
#: Blocks kept, so the demuxer's probing back and forth does not fetch a block twice.
KEPT_BLOCKS = 16
#: A ``RangedObject`` reads ahead once this many blocks were read in a row, one block further for each more, up to
#: ``MAX_READ_AHEAD_BLOCKS``,
READ_AHEAD_AFTER_BLOCKS = 3
MAX_READ_AHEAD_BLOCKS = 4
#: ... and keeps this many blocks for all the files opened on it (16 MiB).
KEPT_OBJECT_BLOCKS = 64

#: Reads bytes ``start`` to ``end`` (exclusive) of the object.
FetchRange = Callable[[int, int], bytes]


class RangeFile(io.RawIOBase):
    """A read-only, seekable file of ``size_bytes`` bytes whose content comes from ``fetch`` in aligned blocks."""

    def __init__(self, fetch: FetchRange, size_bytes: int) -> None:
        super().__init__()
        self._fetch = fetch
        self._size = size_bytes
        self._position = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self._size - self._position)
        done = 0
        while done < wanted:
            index, offset = divmod(self._position, BLOCK_BYTES)
            block = self._block(index)
            count = min(wanted - done, len(block) - offset)
            if count <= 0:
                break
            view[done : done + count] = block[offset : offset + count]
            done += count
            self._position += count
        return done

    def _block(self, index: int) -> bytes:
        block = self._blocks.get(index)
        if block is not None:
            self._blocks.move_to_end(index)
            return block
        start = index * BLOCK_BYTES
        block = self._fetch(start, min(start + BLOCK_BYTES, self._size))
        self._blocks[index] = block
        if len(self._blocks) > KEPT_BLOCKS:
            self._blocks.popitem(last=False)
        return block


class RangedObject:
    """The object ``key`` of ``store`` (``size_bytes`` long), opened as files read in ranges from any thread but
    ``loop``'s, where the store's calls run. Make it with ``await RangedObject.of(store, key)`` on that loop.

    The object never changes while it is read (a master is never rewritten), so its files share one cache of the
    last ``KEPT_OBJECT_BLOCKS`` blocks: a reader that opens the object once per excerpt, and the demuxer's probing
    that starts every seek's search at the same places, fetch each block once. A read going forwards (the
    ``READ_AHEAD_AFTER_BLOCKS``-th block in a row) starts the following blocks' fetches, so decoding an excerpt does
    not wait for a round trip per block, while the short windows a repair learns from fetch nothing they do not
    read."""

    def __init__(self, store: MediaStore, key: str, size_bytes: int, loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
        self.key = key
        self.size_bytes = size_bytes
        self._loop = loop
        self._lock = threading.Lock()
        # Held apart from ``_lock``: a fetch done before its callback is added counts under the caller's ``_lock``.
        self._count_lock = threading.Lock()
        self._blocks: OrderedDict[int, Future[bytes]] = OrderedDict()
        self._last_end = -1
        # Blocks fetched one after the other up to the last.
        self._run = 0
        self._fetched_bytes = 0
        self._fetches = 0

    @classmethod
    async def of(cls, store: MediaStore, key: str) -> RangedObject:
        """``key`` of ``store``, read from other threads through the running loop; ``MediaNotFound`` when there is
        no such object."""
        info = await store.head(key)
        return cls(store, key, info.size_bytes, asyncio.get_running_loop())

    @property
    def name(self) -> str:
        return self.key

    @property
    def fetched_bytes(self) -> int:
        """Bytes fetched from the store so far for every file opened on the object (read ahead included)."""
        return self._fetched_bytes

    @property
    def fetches(self) -> int:
        """Ranged reads made so far for every file opened on the object."""
        return self._fetches

    def open(self) -> BinaryIO:
        """A new file over the object, with its own position (one per reader, as files are)."""
        return io.BufferedReader(RangeFile(self.fetch, self.size_bytes))

    def fetch(self, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` of the object, fetched on the store's loop; called from another thread."""
        with self._lock:
            block = self._block(start, end)
            self._run = self._run + 1 if start == self._last_end else 1
            ahead = min(self._run - READ_AHEAD_AFTER_BLOCKS + 1, MAX_READ_AHEAD_BLOCKS)
            for index in range(1, ahead + 1):
                following = start + index * (end - start)
                if following >= self.size_bytes:
                    break
                self._block(following, min(following + (end - start), self.size_bytes))
            self._last_end = end
        try:
            return block.result()
        except BaseException:
            with self._lock:
                if self._blocks.get(start) is block:
                    del self._blocks[start]
            raise

    def _block(self, start: int, end: int) -> Future[bytes]:
        """The fetch of ``start`` .. ``end``, started now unless it is cached; called with the lock held."""
        block = self._blocks.get(start)
        if block is not None:
            self._blocks.move_to_end(start)
            return block
        block = asyncio.run_coroutine_threadsafe(self.store.get_bytes(self.key, start=start, end=end), self._loop)
        block.add_done_callback(self._count)
        self._blocks[start] = block
        if len(self._blocks) > KEPT_OBJECT_BLOCKS:
            self._blocks.popitem(last=False)
        return block

    def _count(self, block: Future[bytes]) -> None:
        if block.cancelled() or block.exception() is not None:
            return
        with self._count_lock:
            self._fetched_bytes += len(block.result())
            self._fetches += 1
