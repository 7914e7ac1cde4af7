"""``MediaUsage``: how many bytes the media store holds, known on every backend without listing it, and the
``MEDIA_MAX_BYTES`` limit held on every write.

The job store keeps the account (``media_objects``, summed by triggers into ``media_totals``), so every process
sees one total. A write reserves its bytes there before its first byte reaches the media store: all of them at
once when it knows its size (a file, an upload with a ``Content-Length``), otherwise in steps as the bytes arrive.
A reservation the limit cannot take fails the write with ``MediaStoreFull`` (``storage_full``) and the backend
stores nothing. A completed write turns its reservation into the object's record; a failed one drops it; a delete
drops the record after the object is gone.

Where a process dies between two of these steps, the account errs on the side of counting too much (a
reservation outlives its write by at most a day, a deleted object's record stays), never on the side of letting the
limit be passed by a write it did not see.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable

from common.errors import StoreError
from common.ids import new_id
from common.jobs.store import JobStore
from common.media_store.errors import MediaStoreFull

logger = logging.getLogger(__name__)

#: A stream of unknown length reserves ahead of the bytes it has, by this much or a quarter of what it has if more,
#: so a long stream costs a store write per step and the steps grow with it (a 2 GiB stream: about 25 writes).
RESERVATION_STEP_BYTES = 8 * 1024 * 1024


class MediaUsage:
    def __init__(self, job_store: Callable[[], Awaitable[JobStore]], limit_bytes: int | None) -> None:
        self.job_store = job_store
        self.limit_bytes = limit_bytes

    async def used_bytes(self) -> int:
        return await (await self.job_store()).media_used_bytes()

    def new_write(self, key: str) -> MediaWrite:
        return MediaWrite(self, key)

    async def reserve(self, key: str, write_id: str, size_bytes: int) -> bool:
        return await (await self.job_store()).reserve_media_bytes(key, write_id, size_bytes, self.limit_bytes)

    async def recount(self, objects: AsyncIterator[tuple[str, int]]) -> int:
        """Rebuild the account from a listing of every object (for a store that held media before it kept an
        account, or after a crash left it off); returns the bytes it counts now."""
        job_store = await self.job_store()
        listed_since_ms = await job_store.database_time_ms()
        listed = [item async for item in objects]
        await job_store.recount_media_objects(listed, listed_since_ms)
        return await job_store.media_used_bytes()

    async def deleted(self, key: str) -> None:
        await self.record_change(key, lambda store: store.forget_media_object(key))

    async def deleted_prefix(self, prefix: str) -> None:
        await self.record_change(prefix, lambda store: store.forget_media_prefix(prefix))

    async def record_change(self, key: str, change: Callable[[JobStore], Awaitable[None]]) -> None:
        """Record what already happened in the media store. Shielded, so a cancelled caller still records it; a
        store error is logged, not raised: the media change stands, and the account only errs on the high side
        (a delete not recorded) or the low side for one object (a write not recorded)."""
        try:
            await asyncio.shield(self._change(change))
        except StoreError as exc:
            logger.warning("media usage of %r not recorded: %s", key, exc.message)

    async def _change(self, change: Callable[[JobStore], Awaitable[None]]) -> None:
        await change(await self.job_store())


class MediaWrite:
    """One write's reservation: ``reserve`` before the backend writes, ``counted`` around a stream of unknown
    length, then ``stored`` or ``abandoned``."""

    def __init__(self, usage: MediaUsage, key: str) -> None:
        self._usage = usage
        self._key = key
        self._write_id = new_id()
        self.reserved_bytes = 0

    async def reserve(self, size_bytes: int) -> None:
        """Hold ``size_bytes`` for this write, or raise ``MediaStoreFull``."""
        if size_bytes <= self.reserved_bytes:
            return
        if not await self._usage.reserve(self._key, self._write_id, size_bytes):
            raise self._full()
        self.reserved_bytes = size_bytes

    async def counted(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        """``chunks``, each one reserved before it is passed on."""
        received = 0
        async for chunk in chunks:
            received += len(chunk)
            if received > self.reserved_bytes:
                await self._grow(received)
            yield chunk

    async def _grow(self, needed_bytes: int) -> None:
        ahead = needed_bytes + max(RESERVATION_STEP_BYTES, needed_bytes // 4)
        if await self._usage.reserve(self._key, self._write_id, ahead):
            self.reserved_bytes = ahead
            return
        # The step ahead does not fit: only the bytes already here must, or the write is refused.
        await self.reserve(needed_bytes)

    async def stored(self, size_bytes: int) -> None:
        await self._usage.record_change(
            self._key, lambda store: store.record_media_object(self._key, self._write_id, size_bytes)
        )

    async def abandoned(self) -> None:
        if self.reserved_bytes:
            await self._usage.record_change(
                self._key, lambda store: store.release_media_reservation(self._key, self._write_id)
            )

    def _full(self) -> MediaStoreFull:
        return MediaStoreFull(
            f"the media store is full: MEDIA_MAX_BYTES ({self._usage.limit_bytes} bytes) leaves no room for this"
        )
