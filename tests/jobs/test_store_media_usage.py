"""The media store's account in the job store, on every backend (local SQLite, sqld over http and ws): the total
follows reservations, records and deletes exactly, and the limit holds even when writes race for the last bytes."""

from __future__ import annotations

import asyncio

from common.jobs import JobStore, get_job_store
from common.jobs.sql_store import MEDIA_RESERVATION_EXPIRY_MS


async def test_the_total_follows_reservations_records_and_deletes(store_env: str) -> None:
    store = await get_job_store()
    assert await store.media_used_bytes() == 0
    assert await store.reserve_media_bytes("uploads/a", "w1", 100, None)
    assert await store.media_used_bytes() == 100
    assert await store.reserve_media_bytes("uploads/a", "w1", 250, None)
    assert await store.media_used_bytes() == 250
    await store.record_media_object("uploads/a", "w1", 240)
    assert await store.media_used_bytes() == 240

    assert await store.reserve_media_bytes("uploads/b", "w2", 60, None)
    await store.release_media_reservation("uploads/b", "w2")
    assert await store.media_used_bytes() == 240

    # A replacement is counted beside the old object while it is written, then in its place.
    assert await store.reserve_media_bytes("uploads/a", "w3", 10, None)
    assert await store.media_used_bytes() == 250
    await store.record_media_object("uploads/a", "w3", 10)
    assert await store.media_used_bytes() == 10

    await store.forget_media_object("uploads/a")
    await store.forget_media_object("uploads/a")
    assert await store.media_used_bytes() == 0


async def test_forgetting_a_prefix_forgets_only_what_is_below_it(store_env: str) -> None:
    store = await get_job_store()
    sizes = {"renders/j/r1/a.mp3": 1, "renders/j/r1/b/c.json": 2, "renders/j/r10/a.mp3": 4, "renders/j/r1.mp3": 8}
    for index, (key, size) in enumerate(sizes.items()):
        await record(store, key, size, f"w{index}")
    assert await store.reserve_media_bytes("renders/j/r1/pending", "w9", 16, None)
    await store.forget_media_prefix("renders/j/r1")
    # What remains: the look-alike neighbours, and the write still in progress (its writer settles it).
    assert await store.media_used_bytes() == 4 + 8 + 16


async def test_the_limit_refuses_what_does_not_fit_and_nothing_changes(store_env: str) -> None:
    store = await get_job_store()
    await record(store, "assets/x/master.flac", 700, "w0")
    assert not await store.reserve_media_bytes("uploads/big", "w1", 301, 1000)
    assert await store.media_used_bytes() == 700
    assert await store.reserve_media_bytes("uploads/fits", "w2", 300, 1000)
    # Growing a reservation counts only the growth against the limit.
    assert await store.reserve_media_bytes("uploads/fits", "w2", 300, 1000)
    assert not await store.reserve_media_bytes("uploads/fits", "w2", 301, 1000)
    assert await store.media_used_bytes() == 1000


async def test_writes_racing_for_the_last_bytes_never_pass_the_limit(store_env: str) -> None:
    store = await get_job_store()
    limit = 10_000
    results = await asyncio.gather(
        *(store.reserve_media_bytes(f"uploads/u{index}", f"w{index}", 1_000, limit) for index in range(25))
    )
    assert sum(results) == 10
    assert await store.media_used_bytes() == limit


async def test_a_reservation_left_by_a_dead_writer_expires_after_a_day(store_env: str) -> None:
    store = await get_job_store()
    assert await store.reserve_media_bytes("uploads/dead", "w1", 900, 1000)
    assert await store.reserve_media_bytes("uploads/alive", "w2", 100, 1000)
    await store._execute(  # type: ignore[attr-defined]
        "UPDATE media_objects SET updated_at = updated_at - :age WHERE write_id = 'w1'",
        {"age": MEDIA_RESERVATION_EXPIRY_MS + 1000},
    )
    assert await store.reserve_media_bytes("uploads/next", "w3", 900, 1000)
    assert await store.media_used_bytes() == 1000


async def record(store: JobStore, key: str, size: int, write_id: str) -> None:
    assert await store.reserve_media_bytes(key, write_id, size, None)
    await store.record_media_object(key, write_id, size)


async def test_a_recount_makes_the_account_match_the_listing_but_keeps_what_changed_since(store_env: str) -> None:
    store = await get_job_store()
    await record(store, "uploads/gone", 500, "w0")
    await record(store, "uploads/resized", 10, "w1")
    assert await store.reserve_media_bytes("uploads/writing", "w2", 40, None)
    # Records from the listing's own millisecond are kept (they may be newer than it): step past it.
    await asyncio.sleep(0.01)
    listed_since_ms = await store.database_time_ms()
    await asyncio.sleep(0.01)
    # Stored while the listing ran (so not in it): its record stays.
    await record(store, "uploads/new", 7, "w3")
    await store.recount_media_objects([("uploads/resized", 20), ("uploads/unrecorded", 300)], listed_since_ms)
    assert await store.media_used_bytes() == 20 + 300 + 40 + 7
    await store.release_media_reservation("uploads/writing", "w2")
    assert await store.media_used_bytes() == 20 + 300 + 7
