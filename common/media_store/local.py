"""``LocalMediaStore``: objects are files under ``MEDIA_ROOT``; the zero-configuration default.

Every write goes to a temporary file beside its target (a name starting with ``.``, so never a key) and is renamed
into place once complete and flushed to disk, so a reader sees the old object or the new one, never a partial one.
File work runs in threads, off the event loop. A key's path is checked after resolving symlinks: nothing under
``MEDIA_ROOT`` can lead a key outside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import secrets
import shutil
import stat
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from common.errors import ConfigurationError
from common.media_store.errors import InvalidMediaKey, MediaNotFound, MediaStoreFull
from common.media_store.keys import validate_key
from common.media_store.store import MARKER_KEY, MediaStore, MediaStream, ObjectInfo, clamp_range

#: Stream writes are gathered to this size before each hand-off to a thread.
WRITE_BUFFER_BYTES = 1024 * 1024
READ_CHUNK_BYTES = 1024 * 1024
#: A full disk (or a user's quota reached).
_NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def _info(key: str, stat_result: os.stat_result) -> ObjectInfo:
    return ObjectInfo(
        key=key,
        size_bytes=stat_result.st_size,
        etag=f'"{stat_result.st_size:x}-{stat_result.st_mtime_ns:x}"',
        modified_at=datetime.fromtimestamp(stat_result.st_mtime, UTC),
    )


def _temporary_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}.part")


def _flush_and_close(file: BinaryIO) -> None:
    try:
        file.flush()
        os.fsync(file.fileno())
    finally:
        file.close()


def _discard(file: BinaryIO, temporary: Path) -> None:
    try:
        # Closing flushes what is still buffered, which fails again on a full disk; the file is closed anyway.
        with contextlib.suppress(OSError):
            file.close()
    finally:
        temporary.unlink(missing_ok=True)


def _is_no_space(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _NO_SPACE_ERRNOS


def _full() -> MediaStoreFull:
    # Raised once the write's partial file is gone.
    return MediaStoreFull("the disk holding the media store is full")


class _FileChunks:
    """The bytes ``start`` to ``end`` of an open file, read in a thread one chunk at a time; closing it (or reading
    to the end) closes the file, even if it was never iterated."""

    def __init__(self, file: BinaryIO, start: int, end: int) -> None:
        self._file = file
        self._position = start
        self._end = end

    def __aiter__(self) -> _FileChunks:
        return self

    async def __anext__(self) -> bytes:
        remaining = self._end - self._position
        if remaining <= 0 or self._file.closed:
            await self.aclose()
            raise StopAsyncIteration
        try:
            chunk = await asyncio.to_thread(self._read, min(remaining, READ_CHUNK_BYTES))
        except BaseException:
            await self.aclose()
            raise
        if not chunk:
            await self.aclose()
            raise StopAsyncIteration
        self._position += len(chunk)
        return chunk

    def _read(self, size: int) -> bytes:
        self._file.seek(self._position)
        return self._file.read(size)

    async def aclose(self) -> None:
        # A close is quick and must happen even while the caller is being cancelled: no thread hand-off.
        self._file.close()


class LocalMediaStore(MediaStore):
    backend = "local"

    def __init__(self, root: Path) -> None:
        super().__init__()
        self._root = root.resolve()

    @classmethod
    async def open(cls, root: Path) -> LocalMediaStore:
        """The store under ``root``, created if missing; ``ConfigurationError`` when it cannot be used."""
        store = cls(root)
        try:
            await asyncio.to_thread(store._root.mkdir, parents=True, exist_ok=True)
            await store._load_identity()
        except OSError as exc:
            raise ConfigurationError(
                f"MEDIA_ROOT {store._root} cannot be used as the media store: {exc.strerror or exc}"
            ) from exc
        return store

    @property
    def location(self) -> str:
        return str(self._root)

    @property
    def configured_by(self) -> str:
        return f"MEDIA_BACKEND=local, MEDIA_ROOT={self._root}"

    def _path(self, key: str) -> Path:
        """The file for ``key``, refused if a symlink on the way leads outside the root (runs in a thread)."""
        path = self._root / key
        if not path.resolve().is_relative_to(self._root):
            raise InvalidMediaKey(f"media key {key!r} leads outside MEDIA_ROOT")
        return path

    def _open_for_writing(self, key: str) -> tuple[Path, Path, BinaryIO]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = _temporary_path(path)
        return path, temporary, temporary.open("xb")

    def _commit(self, key: str, temporary: Path, path: Path) -> ObjectInfo:
        os.replace(temporary, path)
        return _info(key, path.stat())

    # -- writing --------------------------------------------------------------------------------------------

    async def _put_stream(self, key: str, chunks: AsyncIterable[bytes], content_type: str | None) -> ObjectInfo:
        path, temporary, file = await asyncio.to_thread(self._open_for_writing, key)
        try:
            pending: list[bytes] = []
            pending_bytes = 0
            async for chunk in chunks:
                pending.append(chunk)
                pending_bytes += len(chunk)
                if pending_bytes >= WRITE_BUFFER_BYTES:
                    await asyncio.to_thread(file.write, b"".join(pending))
                    pending, pending_bytes = [], 0
            if pending:
                await asyncio.to_thread(file.write, b"".join(pending))
            await asyncio.to_thread(_flush_and_close, file)
            return await asyncio.to_thread(self._commit, key, temporary, path)
        except BaseException as exc:
            # Synchronous on purpose: it must run even while this task is being cancelled.
            _discard(file, temporary)
            if _is_no_space(exc):
                raise _full() from exc
            raise

    def _move_in(self, key: str, source: Path) -> ObjectInfo | None:
        """Rename ``source`` into place; ``None`` when it is on another file system and must be copied."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as written:
            os.fsync(written.fileno())
        try:
            os.replace(source, path)
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                return None
            raise
        return _info(key, path.stat())

    def _put_file_now(self, key: str, source: Path, consume: bool) -> ObjectInfo:
        if not source.is_file():
            raise FileNotFoundError(errno.ENOENT, "no file to store", str(source))
        if consume:
            moved = self._move_in(key, source)
            if moved is not None:
                return moved
        path, temporary, file = self._open_for_writing(key)
        try:
            with source.open("rb") as reader:
                shutil.copyfileobj(reader, file, READ_CHUNK_BYTES)
            _flush_and_close(file)
            info = self._commit(key, temporary, path)
        except BaseException:
            _discard(file, temporary)
            raise
        if consume:
            source.unlink()
        return info

    async def _put_file(self, key: str, path: Path, content_type: str | None, consume: bool) -> ObjectInfo:
        try:
            return await asyncio.to_thread(self._put_file_now, key, path, consume)
        except OSError as exc:
            if _is_no_space(exc):
                raise _full() from exc
            raise

    # -- reading --------------------------------------------------------------------------------------------

    def _stat(self, key: str) -> tuple[Path, os.stat_result]:
        path = self._path(key)
        try:
            stat_result = path.stat()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise MediaNotFound(key) from exc
        if not stat.S_ISREG(stat_result.st_mode):
            raise MediaNotFound(key)
        return path, stat_result

    async def _head(self, key: str) -> ObjectInfo:
        _, stat_result = await asyncio.to_thread(self._stat, key)
        return _info(key, stat_result)

    def _get_file_now(self, key: str, destination: Path) -> ObjectInfo:
        source, stat_result = self._stat(key)
        destination.parent.mkdir(parents=True, exist_ok=True)
        temporary = _temporary_path(destination)
        try:
            shutil.copyfile(source, temporary)
            os.replace(temporary, destination)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return _info(key, stat_result)

    async def _get_file(self, key: str, path: Path) -> ObjectInfo:
        return await asyncio.to_thread(self._get_file_now, key, path)

    def _plain_file(self, key: str) -> Path:
        path, _ = self._stat(key)
        if path.resolve() != path:
            raise MediaNotFound(key)
        return path

    async def local_path(self, key: str) -> Path | None:
        return await asyncio.to_thread(self._plain_file, validate_key(key))

    def _open_range(self, key: str, start: int, end: int | None) -> MediaStream:
        path, _ = self._stat(key)
        file = path.open("rb")
        try:
            info = _info(key, os.fstat(file.fileno()))
            first, last = clamp_range(key, info.size_bytes, start, end)
        except BaseException:
            file.close()
            raise
        return MediaStream(info=info, start=first, end=last, chunks=_FileChunks(file, first, last))

    async def _get_stream(self, key: str, start: int, end: int | None) -> MediaStream:
        return await asyncio.to_thread(self._open_range, key, start, end)

    async def _presigned_get_url(self, key: str, expires_s: float) -> str | None:
        return None

    def _scan(self, prefix: str) -> list[ObjectInfo]:
        folder = self._path(prefix) if prefix else self._root
        found: list[ObjectInfo] = []
        pending = [(folder, prefix)]
        while pending:
            directory, directory_key = pending.pop()
            try:
                entries = list(os.scandir(directory))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                key = f"{directory_key}/{entry.name}" if directory_key else entry.name
                if entry.is_dir(follow_symlinks=False):
                    pending.append((Path(entry.path), key))
                elif entry.is_file(follow_symlinks=False):
                    try:
                        found.append(_info(key, entry.stat(follow_symlinks=False)))
                    except FileNotFoundError:
                        continue
        return found

    async def _list_objects(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        # One stat on the loop first: the worker lists every finished job's prefixes, and most (jobs that write
        # nothing) have no folder, so they skip the hand-off to a thread.
        if prefix and not (self._root / prefix).is_dir():
            return
        for info in await asyncio.to_thread(self._scan, prefix):
            yield info

    # -- removing -------------------------------------------------------------------------------------------

    def _delete_now(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except (IsADirectoryError, NotADirectoryError):
            return

    async def _delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete_now, key)

    def _delete_prefix_now(self, prefix: str) -> int:
        count = len(self._scan(prefix))
        folder = self._path(prefix)
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder)
        return count

    async def _delete_prefix(self, prefix: str) -> int:
        return await asyncio.to_thread(self._delete_prefix_now, prefix)

    # -- identity and lifecycle -----------------------------------------------------------------------------

    def _read_marker_now(self) -> str | None:
        try:
            return (self._root / MARKER_KEY).read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    async def _read_marker(self) -> str | None:
        return await asyncio.to_thread(self._read_marker_now)

    def _create_marker_now(self, store_id: str) -> None:
        marker = self._root / MARKER_KEY
        temporary = _temporary_path(marker)
        temporary.write_text(store_id + "\n", encoding="utf-8")
        try:
            # A hard link fails when the marker exists, so the first writer's id is the one kept.
            os.link(temporary, marker)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()

    async def _create_marker(self, store_id: str) -> None:
        await asyncio.to_thread(self._create_marker_now, store_id)

    async def close(self) -> None:
        return None

    async def _device_free_bytes(self) -> int | None:
        usage = await asyncio.to_thread(shutil.disk_usage, self._root)
        return usage.free
