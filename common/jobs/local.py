"""``LocalJobStore``: the job store in one SQLite file, shared by every process on this host through WAL.

Every call is one statement in autocommit mode (a claim is one ``UPDATE ... RETURNING``), so a write takes the
write lock at its start and SQLite's busy handler can wait for it; a batch starts with ``BEGIN IMMEDIATE`` for the
same reason. A ``database is locked`` that outlasts the busy timeout is retried a few times, never handed up.

Writes go through aiosqlite, off the event loop, because they may wait for the write lock. Short indexed reads
(a job by id: what every poll asks) run on the caller's thread on a second, read-only connection: in WAL mode a
reader never waits for writers, and the lookup costs far less than a thread hand-off. The worker's hot writes
(claims and group settles, ``DIRECT_WRITES``) likewise run on the caller's thread, on a third connection that waits
at most ``DIRECT_WRITE_BUSY_TIMEOUT_MS`` for the write lock; when another writer holds it longer they take the
aiosqlite path (a statement refused for a busy lock applied nothing, so it may be sent again).

``watch_commits`` watches the WAL file with inotify (``FileWatch``): every commit on this host appends to it, so an
idle worker sleeps until one may have happened instead of reading ``data_version`` on a timer.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import aiosqlite

from common.errors import StoreError
from common.jobs import sql
from common.jobs.file_watch import FileWatch
from common.jobs.sql_store import Params, Row, SqlJobStore, Statement

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
#: How long a direct read may hold up the event loop before it gives way to the aiosqlite path.
DIRECT_READ_BUSY_TIMEOUT_MS = 20
#: Polls read random jobs; through a memory map a page the reader's own cache lacks costs no ``pread`` call. The map
#: is the file itself, so it is never stale (SQLite still reads newer pages from the WAL).
READER_MMAP_BYTES = 1 << 30
DIRECT_READS = frozenset(
    {
        sql.SELECT_JOB,
        sql.SELECT_JOB_SNAPSHOT,
        sql.SELECT_CHANGED_JOB_SNAPSHOTS,
        sql.SELECT_NEWEST_JOB_UPDATE,
        sql.SELECT_JOB_BY_IDEMPOTENCY_KEY,
        sql.SELECT_ASSET_VERSIONS,
        sql.SELECT_MEDIA_USED_BYTES,
    }
)
#: Claims and group settles: short statements on the primary key or ``jobs_runnable``, issued only by workers.
DIRECT_WRITES = frozenset(
    {
        sql.claim_jobs(by_type=True),
        sql.claim_jobs(by_type=False),
        sql.COMPLETE_JOBS,
        sql.FAIL_JOBS,
        sql.RELEASE_JOBS,
    }
)
#: How long a direct write may hold up the event loop waiting for the write lock before it gives way to aiosqlite.
DIRECT_WRITE_BUSY_TIMEOUT_MS = 20
LOCKED_RETRIES = 5
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def _is_locked(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _BUSY_CODES
    return "locked" in str(exc) or "busy" in str(exc)


def _is_full(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF == sqlite3.SQLITE_FULL if code is not None else "is full" in str(exc)


def _prepare_directory(path: Path) -> Path:
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _connect_writer(path: Path) -> aiosqlite.Connection:
    connection = aiosqlite.connect(path, isolation_level=None)
    # aiosqlite serves a connection from a thread the interpreter waits for at exit, so a program that returned
    # without ``close_job_store()`` would never end. As a daemon the thread cannot hold the process: every write
    # is awaited, so none is in flight at exit, and SQLite's journal makes even an interrupted one harmless.
    # ``tests/jobs/test_store_lifecycle.py`` proves this still holds for the installed aiosqlite.
    connection._thread.daemon = True
    return connection


def _connect_direct_writer(path: Path) -> sqlite3.Connection:
    # Used only from the event loop's thread, but possibly from a later loop on another thread in tests. Its commits
    # may run SQLite's automatic checkpoint on that thread: a few milliseconds every thousand pages written.
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute(f"PRAGMA busy_timeout = {DIRECT_WRITE_BUSY_TIMEOUT_MS}")
    writer.execute("PRAGMA synchronous = NORMAL")
    return writer


def _connect_reader(path: Path) -> sqlite3.Connection:
    # Used only from the event loop's thread, but possibly from a later loop on another thread in tests.
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute(f"PRAGMA busy_timeout = {DIRECT_READ_BUSY_TIMEOUT_MS}")
    reader.execute("PRAGMA query_only = ON")
    reader.execute(f"PRAGMA mmap_size = {READER_MMAP_BYTES}")
    return reader


class LocalJobStore(SqlJobStore):
    backend = "local"

    def __init__(self, path: Path, connection: aiosqlite.Connection) -> None:
        super().__init__()
        self._path = path
        self._connection = connection
        self._reader: sqlite3.Connection | None = None
        self._direct_writer: sqlite3.Connection | None = None
        #: The WAL file's inotify watch, made on first use (``None`` if that failed: callers then poll).
        self._wal_watch: FileWatch | None = None
        self._wal_watch_tried = False
        self._commit_listeners: dict[object, Callable[[], None]] = {}
        # One connection serves every coroutine of the process; a batch's statements must not interleave with
        # another coroutine's, so batches and single statements take turns.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> LocalJobStore:
        """Open (creating if needed) the store file at ``path`` and bring its schema up to date."""
        path = await asyncio.to_thread(_prepare_directory, path)
        try:
            connection = await _connect_writer(path)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the job store file {path}: {exc}") from exc
        store = cls(path, connection)
        try:
            await store._execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}", {})
            await store._execute("PRAGMA journal_mode = WAL", {})
            await store._execute("PRAGMA synchronous = NORMAL", {})
            await store._migrate()
            store._reader = await asyncio.to_thread(_connect_reader, path)
            store._direct_writer = await asyncio.to_thread(_connect_direct_writer, path)
        except BaseException:
            await connection.close()
            raise
        return store

    @property
    def location(self) -> str:
        return str(self._path)

    async def _execute(self, statement: str, params: Params) -> list[Row]:
        direct = None
        if statement in DIRECT_READS:
            direct = self._reader
        elif statement in DIRECT_WRITES and not self._lock.locked():
            # Not while this process's aiosqlite connection is inside a transaction: it holds the write lock and
            # needs the event loop to finish, so a direct write would only wait out its timeout.
            direct = self._direct_writer
        if direct is not None:
            try:
                return direct.execute(statement, params).fetchall()
            except sqlite3.Error as exc:
                if not _is_locked(exc):
                    raise self._store_error(exc) from exc
        attempt = 0
        while True:
            try:
                async with self._lock:
                    return list(await self._connection.execute_fetchall(statement, params))
            except sqlite3.Error as exc:
                await self._handle_error(exc, attempt)
            attempt += 1

    async def _batch(self, statements: Sequence[Statement], *, repeatable: bool = True) -> list[list[Row]]:
        # Retried only when the database was locked: nothing was applied, so any batch may be repeated.
        attempt = 0
        while True:
            try:
                async with self._lock:
                    return await self._run_transaction(statements)
            except sqlite3.Error as exc:
                await self._handle_error(exc, attempt)
            attempt += 1

    async def _run_transaction(self, statements: Sequence[Statement]) -> list[list[Row]]:
        await self._connection.execute("BEGIN IMMEDIATE")
        try:
            results: list[list[Row]] = [
                list(await self._connection.execute_fetchall(statement, params)) for statement, params in statements
            ]
            await self._connection.execute("COMMIT")
        except BaseException:
            if self._connection.in_transaction:
                await self._connection.execute("ROLLBACK")
            raise
        return results

    async def _handle_error(self, exc: sqlite3.Error, attempt: int) -> None:
        """Back off and return for a lock that outlasted the busy timeout; raise anything else as StoreError."""
        if _is_locked(exc) and attempt < LOCKED_RETRIES:
            logger.warning("job store %s busy (attempt %d), retrying: %s", self._path, attempt + 1, exc)
            await asyncio.sleep(0.05 * 2**attempt)
            return
        raise self._store_error(exc) from exc

    def _store_error(self, exc: sqlite3.Error) -> StoreError:
        if _is_full(exc):
            # The disk (or the database's page limit) is full: a write may succeed once space is freed.
            return StoreError(f"job store {self._path} is full: {exc}", code="store_full", transient=True)
        return StoreError(f"job store {self._path}: {exc}", code="store_busy" if _is_locked(exc) else "store_error")

    async def commit_token(self) -> int | None:
        # ``data_version`` moves when another connection commits; every write goes through the writer connection,
        # so on the read-only one it moves for this process's writes too. Read directly: no thread hand-off.
        if self._reader is None:
            raise StoreError(f"job store {self._path} is not open", code="store_closed")
        try:
            return int(self._reader.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error as exc:
            raise StoreError(f"job store {self._path}: {exc}") from exc

    def watch_commits(self, on_commit: Callable[[], None]) -> Callable[[], None] | None:
        if not self._wal_watch_tried:
            # WAL mode keeps the file while any connection is open, and this store holds three.
            self._wal_watch = FileWatch.open(self._path.with_name(self._path.name + "-wal"))
            self._wal_watch_tried = True
        watch = self._wal_watch
        if watch is None:
            return None
        loop = asyncio.get_running_loop()
        listeners = self._commit_listeners
        if not listeners:
            loop.add_reader(watch.fileno(), self._notify_commit, watch)
        token = object()
        listeners[token] = on_commit

        def stop() -> None:
            if listeners.pop(token, None) is not None and not listeners:
                loop.remove_reader(watch.fileno())

        return stop

    def _notify_commit(self, watch: FileWatch) -> None:
        watch.drain()
        for on_commit in list(self._commit_listeners.values()):
            on_commit()

    async def _close(self) -> None:
        if self._wal_watch is not None:
            if self._commit_listeners:
                # A watcher that never stopped: the descriptor must leave the event loop before it is closed.
                asyncio.get_running_loop().remove_reader(self._wal_watch.fileno())
                self._commit_listeners.clear()
            self._wal_watch.close()
        self._wal_watch = None
        for direct in (self._reader, self._direct_writer):
            if direct is not None:
                direct.close()
        self._reader = self._direct_writer = None
        await self._connection.close()
