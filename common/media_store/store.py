"""The ``MediaStore`` interface: every byte of media (uploads, masters, peaks, previews, renders) goes through it.

Each public method checks its key with ``common.media_store.keys`` and hands the work to a backend's primitive
(``_put_stream``, ``_get_stream``, ...), so the key rule and the range rule hold on every backend alike. Writes are
atomic: an object is either absent or complete, never partial, and a put that fails or is cancelled leaves nothing
under its key. Ranges are ``start`` (inclusive) to ``end`` (exclusive, ``None`` for the object's end), as in a slice.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from common.ids import new_id
from common.jobs.store import JobStore
from common.media_store.errors import InvalidMediaKey, InvalidMediaRange, MediaStoreError
from common.media_store.keys import validate_key, validate_prefix
from common.media_store.usage import MediaUsage

logger = logging.getLogger(__name__)

#: The object (local: the file) holding the store's id. Its leading dot keeps it out of every valid key.
MARKER_KEY = ".media-store-id"


@dataclass(frozen=True)
class ObjectInfo:
    """What the store knows of one object without reading it."""

    key: str
    size_bytes: int
    #: An opaque validator that changes when the object does (quoted, as in an HTTP ``ETag``); ``None`` if unknown.
    etag: str | None
    modified_at: datetime


@dataclass
class MediaStream:
    """An open read of ``info.key``'s bytes ``start`` to ``end`` (exclusive, within the object), as ``chunks``.

    ``info`` describes the whole object, so a ``Content-Range`` can be written before the first chunk arrives.
    Use it as ``async with``, or iterate ``chunks`` to the end; either way the read is closed."""

    info: ObjectInfo
    start: int
    end: int
    chunks: AsyncIterator[bytes]

    @property
    def length_bytes(self) -> int:
        return self.end - self.start

    async def aclose(self) -> None:
        close = getattr(self.chunks, "aclose", None)
        if close is not None:
            await close()

    async def __aenter__(self) -> MediaStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def check_range(start: int, end: int | None) -> None:
    if start < 0 or (end is not None and end <= start):
        raise InvalidMediaRange(f"the byte range {start} to {end} is empty or negative")


def clamp_range(key: str, size_bytes: int, start: int, end: int | None) -> tuple[int, int]:
    """``(start, end)`` within an object of ``size_bytes``; a whole read of an empty object is ``(0, 0)``."""
    if start == 0 and end is None:
        return 0, size_bytes
    if start >= size_bytes:
        raise InvalidMediaRange(f"the range starts at byte {start}, past the end of {key!r} ({size_bytes} bytes)")
    return start, size_bytes if end is None else min(end, size_bytes)


def _size_of(path: Path) -> int:
    """The file's size, 0 when it is missing (the backend's put then says so)."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class MediaStore(ABC):
    #: ``"local"`` or ``"s3"``.
    backend: str

    def __init__(self) -> None:
        self._store_id = ""
        self._usage: MediaUsage | None = None

    @property
    def store_id(self) -> str:
        """A random id kept in the store's marker: equal ids mean the same media store."""
        return self._store_id

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the objects live (a path, or ``s3://bucket`` at an endpoint), without credentials; safe to log."""

    @property
    @abstractmethod
    def configured_by(self) -> str:
        """The variables that chose this store and their values, for messages that tell a person what to fix."""

    # -- accounting -----------------------------------------------------------------------------------------

    def account_with(self, usage: MediaUsage) -> None:
        """Record every write and delete in ``usage`` and hold its limit (the factory does this for every store
        it opens; a store made directly, as the stores' own tests do, keeps no account)."""
        self._usage = usage

    def account_through(self, job_store: Callable[[], Awaitable[JobStore]]) -> None:
        """Reach the account's job store through ``job_store`` instead of ``get_job_store`` (the web passes one
        that holds each call to ``STORE_DEADLINE_S``)."""
        if self._usage is not None:
            self._usage.job_store = job_store

    @property
    def limit_bytes(self) -> int | None:
        """``MEDIA_MAX_BYTES``: the most this store may hold; ``None`` for no limit of ours."""
        return None if self._usage is None else self._usage.limit_bytes

    async def used_bytes(self) -> int | None:
        """The bytes this store holds by its account (objects and writes in progress); ``None`` without one."""
        return None if self._usage is None else await self._usage.used_bytes()

    async def free_bytes(self) -> int | None:
        """The room left for writes: the ``MEDIA_MAX_BYTES`` headroom, or the backend's own free space when it
        knows it and it is less (local: the disk's); ``None`` when neither is known."""
        limit, used = self.limit_bytes, await self.used_bytes()
        headroom = None if limit is None or used is None else max(limit - used, 0)
        device_free = await self._device_free_bytes()
        if headroom is None or device_free is None:
            return headroom if device_free is None else device_free
        return min(headroom, device_free)

    async def recount_usage(self) -> int | None:
        """List the whole store and make its account match (``python -m workers media-usage --recount``); the
        bytes counted afterwards, ``None`` without an account."""
        if self._usage is None:
            return None
        return await self._usage.recount((info.key, info.size_bytes) async for info in self.list_objects())

    # -- writing --------------------------------------------------------------------------------------------

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str | None = None,
        expected_bytes: int | None = None,
    ) -> ObjectInfo:
        """Store the bytes ``chunks`` yields as ``key``, holding only a bounded part of them in memory (s3: a
        multipart upload, part by part). If ``chunks`` raises or the call is cancelled, the error propagates and
        nothing is stored under ``key``; a previous object under ``key`` is replaced only by a complete one.

        ``expected_bytes`` (at most this many, e.g. from a ``Content-Length``) is reserved against
        ``MEDIA_MAX_BYTES`` before the first chunk is read, so a write that cannot fit fails (``MediaStoreFull``)
        without reading any; without it the bytes are reserved as they arrive. A full disk or bucket is
        ``MediaStoreFull`` too."""
        key = validate_key(key)
        if self._usage is None:
            return await self._put_stream(key, chunks, content_type)
        write = self._usage.new_write(key)
        try:
            await write.reserve(expected_bytes or 0)
            info = await self._put_stream(key, write.counted(chunks), content_type)
        except BaseException:
            await write.abandoned()
            raise
        await write.stored(info.size_bytes)
        return info

    async def put_file(
        self, key: str, path: Path, *, content_type: str | None = None, consume: bool = False
    ) -> ObjectInfo:
        """Store the local file ``path`` as ``key``. With ``consume=True`` the caller is done with the file: it is
        gone afterwards (the local backend moves it in when it can, instead of copying). Its size is reserved
        against ``MEDIA_MAX_BYTES`` first; ``MediaStoreFull`` when it does not fit, or the disk or bucket is full."""
        key = validate_key(key)
        if self._usage is None:
            return await self._put_file(key, path, content_type, consume)
        write = self._usage.new_write(key)
        try:
            await write.reserve(await asyncio.to_thread(_size_of, path))
            info = await self._put_file(key, path, content_type, consume)
        except BaseException:
            await write.abandoned()
            raise
        await write.stored(info.size_bytes)
        return info

    # -- reading --------------------------------------------------------------------------------------------

    async def head(self, key: str) -> ObjectInfo:
        """Size, etag and modification time; ``MediaNotFound`` when there is no such object."""
        return await self._head(validate_key(key))

    async def get_file(self, key: str, path: Path) -> ObjectInfo:
        """Copy the whole object to the local file ``path`` (written beside it under a temporary name and renamed,
        so ``path`` never holds a partial copy). The caller owns ``path`` and removes it."""
        return await self._get_file(validate_key(key), path)

    async def get_stream(self, key: str, *, start: int = 0, end: int | None = None) -> MediaStream:
        """Open a read of bytes ``start`` to ``end`` (``None``: to the object's end; an ``end`` past it is cut to
        it). ``MediaNotFound`` for a missing object, ``InvalidMediaRange`` for a range starting past its end."""
        check_range(start, end)
        return await self._get_stream(validate_key(key), start, end)

    async def get_bytes(self, key: str, *, start: int = 0, end: int | None = None) -> bytes:
        """``get_stream``'s bytes in memory: for small objects (peaks, markers) and short ranges only."""
        parts: list[bytes] = []
        async with await self.get_stream(key, start=start, end=end) as stream:
            async for chunk in stream.chunks:
                parts.append(chunk)
        return b"".join(parts)

    async def presigned_get_url(self, key: str, *, expires_s: float) -> str | None:
        """A URL a browser can ``GET`` (with ``Range``) for ``expires_s`` seconds without credentials; ``None``
        when the backend has none (local: the web serves the bytes). Does not check that the object exists."""
        if expires_s <= 0:
            raise MediaStoreError("expires_s must be positive", code="invalid_argument")
        return await self._presigned_get_url(validate_key(key), expires_s)

    async def local_path(self, key: str) -> Path | None:
        """The local file holding ``key`` when the backend keeps objects as files this process can open (local),
        so it can be served with the operating system's help; ``None`` otherwise (s3). ``MediaNotFound`` for a
        missing object, or one reached through a symlink."""
        validate_key(key)
        return None

    def list_objects(self, prefix: str = "") -> AsyncIterator[ObjectInfo]:
        """Every object strictly below the folder ``prefix`` (``""``: the whole store), in no promised order."""
        return self._list_objects(validate_prefix(prefix))

    # -- removing -------------------------------------------------------------------------------------------

    async def delete(self, key: str) -> None:
        """Remove ``key``; nothing happens when it does not exist."""
        await self._delete(validate_key(key))
        if self._usage is not None:
            await self._usage.deleted(key)

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object below the folder ``prefix`` and return how many there were. The whole store cannot be
        emptied this way: ``prefix`` must be a non-empty key."""
        if prefix == "":
            raise InvalidMediaKey("delete_prefix needs a non-empty prefix; it never empties the whole store")
        removed = await self._delete_prefix(validate_key(prefix))
        if self._usage is not None:
            await self._usage.deleted_prefix(prefix)
        return removed

    # -- identity and lifecycle -----------------------------------------------------------------------------

    async def _load_identity(self) -> None:
        """Read the marker, creating it first if this is a new store. When two processes create it at once, one
        write wins and both read that one back."""
        store_id = await self._read_marker()
        if store_id is None:
            await self._create_marker(new_id())
            store_id = await self._read_marker()
            if store_id is None:
                raise MediaStoreError(f"the media store at {self.location} did not keep its identity marker")
            logger.info("media store at %s is new: store id %s", self.location, store_id)
        self._store_id = store_id

    @abstractmethod
    async def close(self) -> None: ...

    async def _device_free_bytes(self) -> int | None:
        """Free space where the backend stores objects, when it can know it cheaply (a bucket cannot)."""
        return None

    # -- what a backend provides (keys already validated) ---------------------------------------------------

    @abstractmethod
    async def _put_stream(self, key: str, chunks: AsyncIterable[bytes], content_type: str | None) -> ObjectInfo: ...

    @abstractmethod
    async def _put_file(self, key: str, path: Path, content_type: str | None, consume: bool) -> ObjectInfo: ...

    @abstractmethod
    async def _head(self, key: str) -> ObjectInfo: ...

    @abstractmethod
    async def _get_file(self, key: str, path: Path) -> ObjectInfo: ...

    @abstractmethod
    async def _get_stream(self, key: str, start: int, end: int | None) -> MediaStream: ...

    @abstractmethod
    async def _presigned_get_url(self, key: str, expires_s: float) -> str | None: ...

    @abstractmethod
    def _list_objects(self, prefix: str) -> AsyncIterator[ObjectInfo]: ...

    @abstractmethod
    async def _delete(self, key: str) -> None: ...

    @abstractmethod
    async def _delete_prefix(self, prefix: str) -> int: ...

    @abstractmethod
    async def _read_marker(self) -> str | None:
        """The id in the marker, or ``None`` when there is no marker yet."""

    @abstractmethod
    async def _create_marker(self, store_id: str) -> None:
        """Write the marker unless one exists already."""
