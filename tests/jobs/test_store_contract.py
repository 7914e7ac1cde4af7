"""The contract every job store backend must pass unchanged: local (a real file) and turso (a real sqld, over
HTTP and over WebSocket). The store is reached the way the application reaches it, through ``get_job_store()``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from common.errors import AssetDeleted, LastAssetVersion, StoreError
from common.jobs import (
    AssetCursor,
    JobError,
    JobStatus,
    JobStore,
    Settlement,
    close_job_store,
    get_job_store,
    to_poll_body,
)
from common.jobs.sql import LATEST_SCHEMA_VERSION

SHORT_LEASE_S = 0.05
#: Comfortably longer than SHORT_LEASE_S, so the lease has lapsed by the database's clock.
LEASE_LAPSE_S = 0.15


@pytest.fixture
async def store(store_env: str) -> JobStore:
    return await get_job_store()


def now() -> datetime:
    return datetime.now(UTC)


async def claimed_job(store: JobStore, *, lease_s: float = 30, max_attempts: int = 3, job_type: str = "ingest"):
    job, _ = await store.create_job(job_type, {"n": 1}, max_attempts=max_attempts)
    claimed = await store.claim_next_job("worker-a", lease_s, [job_type])
    assert claimed is not None
    assert claimed.id == job.id
    return claimed


async def worker_writes(store: JobStore, job_id: str, lease_token: str) -> list[bool]:
    """Every fenced write a worker can make, in an order that would change the job if any were accepted."""
    return [
        await store.heartbeat(job_id, lease_token, 30),
        await store.set_progress(job_id, lease_token, 0.7),
        await store.complete_job(job_id, lease_token, {"late": True}),
        await store.fail_job(job_id, lease_token, JobError("late", "late failure")),
        await store.fail_job(job_id, lease_token, JobError("late", "late retry"), retry_at=now()),
        await store.release_job(job_id, lease_token),
    ]


# -- creating and reading --------------------------------------------------------------------------------------


async def test_create_and_get_round_trip(store: JobStore) -> None:
    before = now() - timedelta(seconds=5)
    job, created = await store.create_job("render", {"assetId": "a" * 32, "tags": {"title": "Ünïcode"}})
    assert created is True
    assert len(job.id) == 32
    fetched = await store.get_job(job.id)
    assert fetched == job
    assert job.type == "render"
    assert job.status is JobStatus.QUEUED
    assert job.payload == {"assetId": "a" * 32, "tags": {"title": "Ünïcode"}}
    assert (job.result, job.error, job.progress, job.attempts, job.max_attempts) == (None, None, 0.0, 0, 3)
    assert job.created_at.tzinfo is not None
    assert before < job.created_at <= job.updated_at < now() + timedelta(seconds=5)
    assert job.run_after <= now() + timedelta(seconds=5)
    assert (job.started_at, job.finished_at, job.lease_token, job.lease_expires_at) == (None, None, None, None)


async def test_get_unknown_job_is_none(store: JobStore) -> None:
    assert await store.get_job("0" * 32) is None
    assert await store.get_job_snapshot("0" * 32) is None


async def test_snapshot_shows_what_the_whole_job_shows_in_every_status(store: JobStore) -> None:
    queued, _ = await store.create_job("ingest", {"n": 1})
    running = await claimed_job(store, job_type="render")
    assert await store.set_progress(running.id, running.lease_token or "", 0.25, "measuring")
    completed = await claimed_job(store, job_type="edit.save")
    assert await store.complete_job(completed.id, completed.lease_token or "", {"version": 2, "name": "Ünïcode"})
    failed = await claimed_job(store, job_type="edit.preview")
    assert await store.fail_job(failed.id, failed.lease_token or "", JobError("corrupt_media", "cannot decode"))
    cancelled, _ = await store.create_job("ingest", {"n": 2})
    await store.cancel_job(cancelled.id)
    seen_statuses = set()
    for job_id in (queued.id, running.id, completed.id, failed.id, cancelled.id):
        job, snapshot = await store.get_job(job_id), await store.get_job_snapshot(job_id)
        assert job is not None
        assert snapshot is not None
        fields = ("id", "type", "status", "progress", "stage", "result", "error", "created_at", "updated_at")
        assert [getattr(snapshot, name) for name in fields] == [getattr(job, name) for name in fields]
        assert to_poll_body(snapshot) == to_poll_body(job)
        seen_statuses.add(snapshot.status)
    assert seen_statuses == set(JobStatus)


async def test_a_stage_is_kept_with_progress_and_cleared_when_the_job_ends_or_runs_again(store: JobStore) -> None:
    running = await claimed_job(store, job_type="render")
    token = running.lease_token or ""
    assert await store.set_progress(running.id, token, 0.3, "measuring")
    assert await store.set_progress(running.id, token, 0.6, "encoding")
    job = await store.get_job(running.id)
    assert job is not None
    assert (job.progress, job.stage) == (0.6, "encoding")
    assert await store.set_progress(running.id, token, 0.7)
    snapshot = await store.get_job_snapshot(running.id)
    assert snapshot is not None
    assert (snapshot.progress, snapshot.stage) == (0.7, None)
    assert await store.set_progress(running.id, token, 0.8, "storing")
    assert await store.complete_job(running.id, token, {})
    done = await store.get_job_snapshot(running.id)
    assert done is not None
    assert (done.progress, done.stage) == (1.0, None)
    # A write from a run that lost its lease changes nothing, stage included.
    assert not await store.set_progress(running.id, token, 0.1, "encoding")
    assert (await store.get_job_snapshot(running.id)) == done


async def test_idempotency_key_is_per_type(store: JobStore) -> None:
    first, created_first = await store.create_job("ingest", {"n": 1}, idempotency_key="upload-1")
    again, created_again = await store.create_job("ingest", {"n": 2}, idempotency_key="upload-1")
    other_type, created_other = await store.create_job("render", {"n": 3}, idempotency_key="upload-1")
    assert (created_first, created_again, created_other) == (True, False, True)
    assert again == first
    assert again.payload == {"n": 1}
    assert other_type.id != first.id
    without_key = [await store.create_job("ingest", {"n": 4}) for _ in range(2)]
    assert without_key[0][0].id != without_key[1][0].id
    assert (await store.count_jobs())["ingest"]["queued"] == 3


async def test_max_attempts_below_one_is_refused(store: JobStore) -> None:

    with pytest.raises(StoreError):
        await store.create_job("ingest", {}, max_attempts=0)


# -- claiming -------------------------------------------------------------------------------------------------


async def test_claim_hands_out_a_lease_once(store: JobStore) -> None:
    job, _ = await store.create_job("ingest", {"n": 1})
    claimed = await store.claim_next_job("worker-a", 30)
    assert claimed is not None
    assert claimed.id == job.id
    assert claimed.status is JobStatus.RUNNING
    assert claimed.attempts == 1
    assert claimed.lease_owner == "worker-a"
    assert claimed.lease_token
    assert claimed.started_at is not None
    assert claimed.lease_expires_at is not None
    assert claimed.lease_expires_at > now() + timedelta(seconds=20)
    assert await store.claim_next_job("worker-b", 30) is None
    assert await store.get_job(job.id) == claimed


async def test_claim_takes_oldest_first_with_fresh_tokens(store: JobStore) -> None:
    ids = [(await store.create_job("ingest", {"n": n}))[0].id for n in range(3)]
    claims = [await store.claim_next_job("worker-a", 30) for _ in ids]
    assert [job.id for job in claims if job] == ids
    assert len({job.lease_token for job in claims if job}) == 3


async def test_claim_filters_by_type(store: JobStore) -> None:
    ingest, _ = await store.create_job("ingest", {})
    render, _ = await store.create_job("render", {})
    assert await store.claim_next_job("worker-a", 30, []) is None
    assert await store.claim_next_job("worker-a", 30, ["edit.save"]) is None
    got_render = await store.claim_next_job("worker-a", 30, ["render", "edit.preview"])
    assert got_render is not None
    assert got_render.id == render.id
    got_ingest = await store.claim_next_job("worker-a", 30, ["ingest"])
    assert got_ingest is not None
    assert got_ingest.id == ingest.id


async def test_claim_respects_run_after(store: JobStore) -> None:
    later, _ = await store.create_job("ingest", {}, run_after=now() + timedelta(hours=1))
    due, _ = await store.create_job("ingest", {}, run_after=now() - timedelta(seconds=1))
    claimed = await store.claim_next_job("worker-a", 30)
    assert claimed is not None
    assert claimed.id == due.id
    assert await store.claim_next_job("worker-a", 30) is None
    assert (await store.get_job(later.id)).status is JobStatus.QUEUED


async def test_claim_jobs_hands_out_the_oldest_up_to_the_limit_each_under_its_own_lease(store: JobStore) -> None:
    ids = [(await store.create_job("ingest", {"n": n}))[0].id for n in range(5)]
    first = await store.claim_jobs("worker-a", 30, 3)
    # Jobs created within one millisecond tie on their times: the oldest three are claimed, in no promised order.
    assert {job.id for job in first} == set(ids[:3])
    assert all(job.status is JobStatus.RUNNING and job.attempts == 1 for job in first)
    assert all(job.lease_owner == "worker-a" and job.lease_expires_at > now() for job in first)
    assert [await store.get_job(job.id) for job in first] == first
    second = await store.claim_jobs("worker-b", 30, 3)
    assert {job.id for job in second} == set(ids[3:])
    assert await store.claim_jobs("worker-c", 30, 3) == []
    tokens = [job.lease_token for job in first + second]
    assert all(isinstance(token, str) and len(token) == 32 for token in tokens)
    assert len(set(tokens)) == 5
    # A token fences only its own job.
    assert not await store.complete_job(first[0].id, first[1].lease_token or "", {})
    assert await store.complete_job(first[0].id, first[0].lease_token or "", {})


async def test_claim_jobs_filters_by_type_and_refuses_a_limit_below_one(store: JobStore) -> None:
    render, _ = await store.create_job("render", {})
    await store.create_job("ingest", {})
    assert await store.claim_jobs("worker-a", 30, 4, []) == []
    claimed = await store.claim_jobs("worker-a", 30, 4, ["render", "edit.save"])
    assert [job.id for job in claimed] == [render.id]
    with pytest.raises(StoreError):
        await store.claim_jobs("worker-a", 30, 0)


async def test_concurrent_batch_claims_never_hand_out_a_job_twice(store: JobStore) -> None:
    ids = {(await store.create_job("ingest", {"n": n}))[0].id for n in range(12)}
    batches = await asyncio.gather(*(store.claim_jobs(f"worker-{n}", 30, 5) for n in range(4)))
    claimed = [job.id for batch in batches for job in batch]
    assert sorted(claimed) == sorted(ids)


# -- worker writes under a lease ---------------------------------------------------------------------------------


async def test_heartbeat_extends_the_lease(store: JobStore) -> None:
    job = await claimed_job(store, lease_s=5)
    assert await store.heartbeat(job.id, job.lease_token, 600)
    extended = await store.get_job(job.id)
    assert extended.lease_expires_at > job.lease_expires_at + timedelta(seconds=500)
    assert extended.status is JobStatus.RUNNING


async def test_progress_and_complete(store: JobStore) -> None:
    job = await claimed_job(store)
    assert await store.set_progress(job.id, job.lease_token, 0.25)
    assert (await store.get_job(job.id)).progress == pytest.approx(0.25)
    assert await store.complete_job(job.id, job.lease_token, {"url": "/media/x.mp3", "loudness": {"rmsDb": -20.5}})
    done = await store.get_job(job.id)
    assert done.status is JobStatus.COMPLETED
    assert done.result == {"url": "/media/x.mp3", "loudness": {"rmsDb": -20.5}}
    assert done.progress == 1.0
    assert done.finished_at is not None
    assert done.error is None


async def test_fail_without_retry_ends_failed(store: JobStore) -> None:
    job = await claimed_job(store)
    assert await store.fail_job(job.id, job.lease_token, JobError("unsupported_media", "not audio"))
    failed = await store.get_job(job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.error == JobError("unsupported_media", "not audio")
    assert failed.finished_at is not None


async def test_fail_with_retry_requeues_while_attempts_remain(store: JobStore) -> None:
    job = await claimed_job(store, max_attempts=2)
    retry_at = now() + timedelta(milliseconds=300)
    assert await store.fail_job(job.id, job.lease_token, JobError("store_error", "blip"), retry_at=retry_at)
    queued = await store.get_job(job.id)
    assert queued.status is JobStatus.QUEUED
    assert abs((queued.run_after - retry_at).total_seconds()) < 0.002
    assert queued.error == JobError("store_error", "blip")
    assert queued.finished_at is None
    assert await store.claim_next_job("worker-b", 30) is None
    await asyncio.sleep(0.4)
    second = await store.claim_next_job("worker-b", 30)
    assert second is not None
    assert second.id == job.id
    assert second.attempts == 2
    assert await store.fail_job(job.id, second.lease_token, JobError("store_error", "blip again"), retry_at=now())
    final = await store.get_job(job.id)
    assert final.status is JobStatus.FAILED
    assert final.error == JobError("store_error", "blip again")


async def test_release_gives_the_job_back_without_counting_the_attempt(store: JobStore) -> None:
    job = await claimed_job(store)
    await store.create_job("ingest", {"queued": "behind"})
    assert await store.release_job(job.id, job.lease_token)
    released = await store.get_job(job.id)
    assert released.status is JobStatus.QUEUED
    assert released.attempts == 0
    assert released.lease_token is None
    again = await store.claim_next_job("worker-b", 30)
    assert again is not None
    assert again.id == job.id
    assert again.attempts == 1
    assert await store.release_job(job.id, job.lease_token) is False


# -- cancel and fencing ------------------------------------------------------------------------------------------


async def test_cancel_queued_job(store: JobStore) -> None:
    job, _ = await store.create_job("ingest", {})
    cancelled = await store.cancel_job(job.id)
    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.finished_at is not None
    assert await store.claim_next_job("worker-a", 30) is None
    assert await store.cancel_job("0" * 32) is None


async def test_writes_are_refused_after_cancel(store: JobStore) -> None:
    job = await claimed_job(store)
    cancelled = await store.cancel_job(job.id)
    assert cancelled.status is JobStatus.CANCELLED
    assert await worker_writes(store, job.id, job.lease_token) == [False] * 6
    assert await store.get_job(job.id) == cancelled


async def test_writes_are_refused_after_lease_expiry(store: JobStore) -> None:
    job = await claimed_job(store, lease_s=SHORT_LEASE_S)
    await asyncio.sleep(LEASE_LAPSE_S)
    before = await store.get_job(job.id)
    assert await worker_writes(store, job.id, job.lease_token) == [False] * 6
    assert await store.get_job(job.id) == before


async def test_writes_are_refused_after_reclaim_by_another_worker(store: JobStore) -> None:
    first = await claimed_job(store, lease_s=SHORT_LEASE_S)
    await asyncio.sleep(LEASE_LAPSE_S)
    assert await store.requeue_expired_jobs() == 1
    second = await store.claim_next_job("worker-b", 30)
    assert second is not None
    assert second.id == first.id
    assert second.lease_token != first.lease_token
    assert second.attempts == 2
    assert await worker_writes(store, first.id, first.lease_token) == [False] * 6
    assert await store.get_job(first.id) == second
    assert await store.complete_job(second.id, second.lease_token, {"by": "b"})
    assert (await store.get_job(first.id)).result == {"by": "b"}


async def test_wrong_token_is_refused(store: JobStore) -> None:
    job = await claimed_job(store)
    assert await worker_writes(store, job.id, "f" * 32) == [False] * 6
    assert await store.get_job(job.id) == job


@pytest.mark.parametrize("ending", ["complete", "fail", "cancel"])
async def test_terminal_states_never_change(store: JobStore, ending: str) -> None:
    job = await claimed_job(store)
    if ending == "complete":
        assert await store.complete_job(job.id, job.lease_token, {"ok": 1})
    elif ending == "fail":
        assert await store.fail_job(job.id, job.lease_token, JobError("bad", "bad"))
    else:
        await store.cancel_job(job.id)
    final = await store.get_job(job.id)
    assert final.status.is_terminal
    assert await store.cancel_job(job.id) == final
    assert await worker_writes(store, job.id, job.lease_token) == [False] * 6
    assert await store.requeue_expired_jobs() == 0
    assert await store.claim_next_job("worker-b", 30) is None
    assert await store.get_job(job.id) == final


# -- group settle ----------------------------------------------------------------------------------------------


async def test_group_settle_refuses_a_fenced_out_completion_alone(store: JobStore) -> None:
    for n in range(3):
        await store.create_job("ingest", {"n": n})
    ok, cancelled, wrong_token = await store.claim_jobs("worker-a", 30, 3)
    expired = await claimed_job(store, lease_s=SHORT_LEASE_S)
    await asyncio.sleep(LEASE_LAPSE_S)
    assert (await store.cancel_job(cancelled.id)).status is JobStatus.CANCELLED
    before = {job.id: await store.get_job(job.id) for job in (cancelled, wrong_token, expired)}
    applied = await store.settle_jobs(
        [
            Settlement.complete(cancelled.id, cancelled.lease_token, {"late": True}),
            Settlement.complete(ok.id, ok.lease_token, {"n": 1}),
            Settlement.complete(wrong_token.id, "f" * 32, {"forged": True}),
            Settlement.complete(expired.id, expired.lease_token, {"late": True}),
        ]
    )
    assert applied == [False, True, False, False]
    completed = await store.get_job(ok.id)
    assert (completed.status, completed.result, completed.progress) == (JobStatus.COMPLETED, {"n": 1}, 1.0)
    assert completed.finished_at is not None
    assert {job_id: await store.get_job(job_id) for job_id in before} == before


async def test_group_settle_applies_each_kind_under_its_own_fence(store: JobStore) -> None:
    for n in range(6):
        await store.create_job("ingest", {"n": n}, max_attempts=3)
    done, failed, retried, released, lost_fail, lost_release = await store.claim_jobs("worker-a", 30, 6)
    await store.cancel_job(lost_fail.id)
    await store.cancel_job(lost_release.id)
    retry_at = now() + timedelta(hours=1)
    applied = await store.settle_jobs(
        [
            Settlement.release(released.id, released.lease_token),
            Settlement.fail(failed.id, failed.lease_token, JobError("corrupt_media", "cannot decode")),
            Settlement.complete(done.id, done.lease_token, {"ok": True}),
            Settlement.fail(lost_fail.id, lost_fail.lease_token, JobError("late", "late")),
            Settlement.fail(retried.id, retried.lease_token, JobError("store_busy", "busy"), retry_at),
            Settlement.release(lost_release.id, lost_release.lease_token),
        ]
    )
    assert applied == [True, True, True, False, True, False]
    assert (await store.get_job(done.id)).result == {"ok": True}
    ended = await store.get_job(failed.id)
    assert (ended.status, ended.error) == (JobStatus.FAILED, JobError("corrupt_media", "cannot decode"))
    waiting = await store.get_job(retried.id)
    assert (waiting.status, waiting.error.code, waiting.finished_at) == (JobStatus.QUEUED, "store_busy", None)
    assert abs((waiting.run_after - retry_at).total_seconds()) < 0.01
    back = await store.get_job(released.id)
    assert (back.status, back.attempts, back.lease_token) == (JobStatus.QUEUED, 0, None)
    for job in (lost_fail, lost_release):
        assert (await store.get_job(job.id)).status is JobStatus.CANCELLED
    assert await store.settle_jobs([]) == []


async def test_group_settle_with_two_runs_of_one_job_applies_only_the_current_lease(store: JobStore) -> None:
    stale = await claimed_job(store, lease_s=SHORT_LEASE_S)
    await asyncio.sleep(LEASE_LAPSE_S)
    assert await store.requeue_expired_jobs() == 1
    current = await store.claim_next_job("worker-b", 30)
    assert current is not None
    applied = await store.settle_jobs(
        [
            Settlement.complete(current.id, current.lease_token, {"by": "current"}),
            Settlement.complete(stale.id, stale.lease_token, {"by": "stale"}),
        ]
    )
    assert applied == [True, False]
    assert (await store.get_job(current.id)).result == {"by": "current"}


async def test_settle_and_claim_settles_each_under_its_own_fence_then_claims_each_job_once(store: JobStore) -> None:
    for n in range(3):
        await store.create_job("ingest", {"n": n})
    done, lost, same = await store.claim_jobs("worker-a", 30, 3)
    await store.cancel_job(lost.id)
    queued = [(await store.create_job("ingest", {"n": n}))[0] for n in range(3, 6)]
    applied, claimed = await store.settle_and_claim(
        [
            Settlement.complete(done.id, done.lease_token, {"ok": True}),
            Settlement.complete(lost.id, lost.lease_token, {"late": True}),
            Settlement.fail(same.id, same.lease_token, JobError("late", "first run")),
            Settlement.complete(same.id, same.lease_token, {"second": "run"}),
        ],
        "worker-b",
        30,
        2,
    )
    assert applied == [True, False, True, False]
    assert [job.id for job in claimed] == [job.id for job in queued[:2]]
    assert len({job.lease_token for job in claimed}) == 2
    assert all(job.status is JobStatus.RUNNING and job.lease_owner == "worker-b" for job in claimed)
    assert (await store.get_job(done.id)).result == {"ok": True}
    assert (await store.get_job(lost.id)).status is JobStatus.CANCELLED
    assert (await store.get_job(same.id)).error == JobError("late", "first run")
    applied, claimed = await store.settle_and_claim(
        [Settlement.complete(claimed[0].id, claimed[0].lease_token, {})], "worker-c", 30, 5, ["ingest"]
    )
    assert (applied, [job.id for job in claimed]) == ([True], [queued[2].id])
    assert await store.settle_and_claim([], "worker-c", 30, 5, []) == ([], [])


async def test_settle_and_claim_checks_its_claim_before_writing_anything(store: JobStore) -> None:
    running = await claimed_job(store)
    queued, _ = await store.create_job("ingest", {"n": 2})
    with pytest.raises(StoreError):
        await store.settle_and_claim([Settlement.complete(running.id, running.lease_token, {})], "worker-b", 30, 0)
    with pytest.raises(StoreError):
        await store.settle_and_claim([Settlement.complete(running.id, running.lease_token, {})], "worker-b", 0, 1)
    assert (await store.get_job(running.id)).status is JobStatus.RUNNING
    assert (await store.get_job(queued.id)).status is JobStatus.QUEUED


# -- expired leases and housekeeping ---------------------------------------------------------------------------


async def test_requeue_expired_jobs(store: JobStore) -> None:
    retried = await claimed_job(store, lease_s=SHORT_LEASE_S, max_attempts=2)
    exhausted = await claimed_job(store, lease_s=SHORT_LEASE_S, max_attempts=1, job_type="render")
    healthy = await claimed_job(store, lease_s=60, job_type="edit.save")
    await asyncio.sleep(LEASE_LAPSE_S)
    assert await store.requeue_expired_jobs() == 2
    assert (await store.get_job(retried.id)).status is JobStatus.QUEUED
    lost = await store.get_job(exhausted.id)
    assert lost.status is JobStatus.FAILED
    assert lost.error.code == "worker_lost"
    assert (await store.get_job(healthy.id)).status is JobStatus.RUNNING
    assert await store.requeue_expired_jobs() == 0


async def test_prune_deletes_only_old_terminal_jobs(store: JobStore) -> None:
    done = await claimed_job(store)
    await store.complete_job(done.id, done.lease_token, {})
    cancelled, _ = await store.create_job("render", {})
    await store.cancel_job(cancelled.id)
    running = await claimed_job(store, job_type="edit.save")
    queued, _ = await store.create_job("ingest", {})
    assert await store.prune_jobs(3600) == []
    await asyncio.sleep(0.02)
    pruned = await store.prune_jobs(0.01)
    assert sorted(job.id for job in pruned) == sorted([done.id, cancelled.id])
    assert {job.id: job.type for job in pruned} == {done.id: "ingest", cancelled.id: "render"}
    assert await store.get_job(done.id) is None
    assert await store.get_job(cancelled.id) is None
    assert (await store.get_job(running.id)).status is JobStatus.RUNNING
    assert (await store.get_job(queued.id)).status is JobStatus.QUEUED


async def test_list_and_count(store: JobStore) -> None:
    created = [(await store.create_job(job_type, {}))[0] for job_type in ("ingest", "render", "ingest", "render")]
    running = await store.claim_next_job("worker-a", 30, ["render"])
    assert [job.id for job in await store.list_jobs()] == [job.id for job in reversed(created)]
    assert [job.id for job in await store.list_jobs(limit=2)] == [created[3].id, created[2].id]
    assert [job.id for job in await store.list_jobs(job_type="ingest")] == [created[2].id, created[0].id]
    assert [job.id for job in await store.list_jobs(status=JobStatus.RUNNING)] == [running.id]
    assert [job.id for job in await store.list_jobs(status=JobStatus.QUEUED, job_type="render")] == [created[3].id]
    assert await store.count_jobs() == {"ingest": {"queued": 2}, "render": {"queued": 1, "running": 1}}


# -- assets ------------------------------------------------------------------------------------------------------


async def test_asset_versions_are_numbered_and_idempotent_per_job(store: JobStore) -> None:
    asset = "a" * 32
    first = await store.add_asset_version(asset, "1" * 32, {"durationSec": 1.5})
    second = await store.add_asset_version(asset, "2" * 32, {"durationSec": 2.5, "baseVersion": 1})
    repeated = await store.add_asset_version(asset, "2" * 32, {"durationSec": 99})
    third = await store.add_asset_version(asset, "3" * 32, {})
    other = await store.add_asset_version("b" * 32, "4" * 32, {})
    assert [first.version, second.version, third.version, other.version] == [1, 2, 3, 1]
    assert repeated == second
    assert repeated.info == {"durationSec": 2.5, "baseVersion": 1}
    versions = await store.get_asset_versions(asset)
    assert [(v.version, v.job_id) for v in versions] == [(1, "1" * 32), (2, "2" * 32), (3, "3" * 32)]
    assert versions[0].info == {"durationSec": 1.5}
    assert await store.get_asset_versions("c" * 32) == []


async def test_concurrent_asset_versions_get_distinct_numbers(store: JobStore) -> None:
    asset = "d" * 32
    added = await asyncio.gather(*(store.add_asset_version(asset, f"{n:032x}", {"n": n}) for n in range(10)))
    assert sorted(version.version for version in added) == list(range(1, 11))


async def test_assets_are_listed_newest_first_with_their_versions_summed(store: JobStore) -> None:
    loudness = {"integratedLufs": -18.5, "truePeakDbtp": -2.0}
    older, newer = "a" * 32, "b" * 32
    await store.add_asset_version(older, "1" * 32, {"title": "Ünïcode talk", "durationSec": 10.0, "sizeBytes": 100})
    await asyncio.sleep(0.01)
    await store.add_asset_version(newer, "2" * 32, {"title": "Second", "durationSec": 3.0})
    await asyncio.sleep(0.01)
    latest = await store.add_asset_version(
        older, "3" * 32, {"title": "Ünïcode talk", "durationSec": 8.5, "loudness": loudness, "sizeBytes": 40}
    )
    summaries = await store.list_assets()
    assert [summary.asset_id for summary in summaries] == [newer, older]
    second, first = summaries
    assert (first.title, first.versions, first.latest_version, first.duration_s) == ("Ünïcode talk", 2, 2, 8.5)
    assert (first.loudness, first.storage_bytes) == (loudness, 140)
    assert first.created_at < second.created_at <= first.updated_at == latest.created_at
    assert (second.title, second.versions, second.loudness, second.storage_bytes) == ("Second", 1, None, 0)
    assert await store.get_asset_summary(older) == first
    assert await store.get_asset_summary("c" * 32) is None


async def test_asset_pages_follow_one_another_without_gaps_or_repeats(store: JobStore) -> None:
    # Versions recorded within one millisecond tie on creation time: the id orders them.
    ids = [f"{n:032x}" for n in range(7)]
    for n, asset_id in enumerate(ids):
        await store.add_asset_version(asset_id, f"{n + 100:032x}", {"title": f"t{n}"})
    everything = await store.list_assets(limit=100)
    seen: list[str] = []
    cursor = None
    while True:
        page = await store.list_assets(limit=3, before=cursor)
        seen += [summary.asset_id for summary in page]
        if len(page) < 3:
            break
        cursor = page[-1].cursor
    assert seen == [summary.asset_id for summary in everything]
    assert sorted(seen) == ids
    assert await store.list_assets(limit=3, before=everything[-1].cursor) == []


async def test_rename_changes_the_title_not_the_versions(store: JobStore) -> None:
    asset = "e" * 32
    await store.add_asset_version(asset, "1" * 32, {"title": "Old"})
    before = await store.get_asset_summary(asset)
    assert before is not None
    await asyncio.sleep(0.01)
    renamed = await store.rename_asset(asset, "Nëw name")
    assert renamed is not None
    assert (renamed.title, renamed.versions, renamed.created_at) == ("Nëw name", 1, before.created_at)
    assert renamed.updated_at > before.updated_at
    assert (await store.rename_asset(asset, "Again")).title == "Again"  # type: ignore[union-attr]
    assert (await store.get_asset_versions(asset))[0].info == {"title": "Old"}
    assert await store.rename_asset("f" * 32, "Nobody") is None
    assert await store.get_asset_summary("f" * 32) is None


def test_asset_cursor_round_trips_and_refuses_anything_else() -> None:
    cursor = AssetCursor(1_764_000_000_123, "a" * 32)
    assert AssetCursor.from_text(cursor.to_text()) == cursor
    for text in (
        "",
        "1-",
        "-" + "a" * 32,
        "x-" + "a" * 32,
        "1-" + "A" * 32,
        "\uff11-" + "a" * 32,
        "1" * 16 + "-" + "a" * 32,
    ):
        assert AssetCursor.from_text(text) is None


async def test_a_completion_with_an_asset_version_records_it_with_its_number_in_the_result(store: JobStore) -> None:
    asset = "e" * 32
    await store.add_asset_version(asset, "1" * 32, {"n": 1})
    job = await claimed_job(store)
    assert job.lease_token is not None
    info = {"audioUrl": "/media/assets/x/master.flac", "level": 1.5}
    result = {"assetId": asset, "audioUrl": info["audioUrl"]}
    version = await store.complete_job_with_asset_version(job.id, job.lease_token, result, asset, info)
    assert version is not None
    assert (version.version, version.job_id, version.info) == (2, job.id, info)
    done = await store.get_job(job.id)
    assert done is not None
    assert done.status is JobStatus.COMPLETED
    assert done.result == {**result, "version": 2}
    assert [v.version for v in await store.get_asset_versions(asset)] == [1, 2]


async def test_a_run_that_lost_its_lease_records_no_asset_version(store: JobStore) -> None:
    asset = "f" * 32
    job = await claimed_job(store, lease_s=SHORT_LEASE_S)
    assert job.lease_token is not None
    await asyncio.sleep(LEASE_LAPSE_S)
    await store.requeue_expired_jobs()
    rerun = await store.claim_next_job("worker-b", 30, ["ingest"])
    assert rerun is not None
    assert rerun.lease_token is not None
    late = await store.complete_job_with_asset_version(job.id, job.lease_token, {}, asset, {"run": "first"})
    assert late is None
    assert await store.get_asset_versions(asset) == []
    version = await store.complete_job_with_asset_version(job.id, rerun.lease_token, {}, asset, {"run": "second"})
    assert version is not None
    assert version.info == {"run": "second"}
    again = await store.complete_job_with_asset_version(job.id, job.lease_token, {}, asset, {"run": "first"})
    assert again is None
    assert [v.info for v in await store.get_asset_versions(asset)] == [{"run": "second"}]


async def test_non_finite_numbers_in_a_result_are_stored_as_null(store: JobStore) -> None:
    job = await claimed_job(store)
    assert job.lease_token is not None
    loudness = {"rmsDb": float("inf"), "truePeakDbtp": float("nan"), "integratedLufs": -16.0}
    assert await store.complete_job(job.id, job.lease_token, {"loudness": loudness})
    done = await store.get_job(job.id)
    assert done is not None
    assert done.result == {"loudness": {"rmsDb": None, "truePeakDbtp": None, "integratedLufs": -16.0}}


# -- identity, schema, change signal ------------------------------------------------------------------------------


async def test_store_id_is_stable_across_reopen(store: JobStore) -> None:
    store_id = store.store_id
    assert len(store_id) == 32
    job, _ = await store.create_job("ingest", {})
    await close_job_store()
    reopened = await get_job_store()
    assert reopened is not store
    assert reopened.store_id == store_id
    assert await reopened.get_job(job.id) == job


async def test_migrations_are_idempotent(store: JobStore) -> None:
    await store._migrate()
    await store._migrate()
    meta = await store._read_meta()
    assert int(meta["schema_version"]) == LATEST_SCHEMA_VERSION
    assert meta["store_id"] == store.store_id


async def test_commit_token_moves_with_another_processs_commit(store: JobStore, store_env: str) -> None:
    if store_env != "local":
        assert await store.commit_token() is None
        return
    from common.config import local_store_path
    from common.jobs.local import LocalJobStore

    before = await store.commit_token()
    other = await LocalJobStore.open(local_store_path())
    try:
        await other.create_job("ingest", {})
    finally:
        await other.close()
    after = await store.commit_token()
    assert before != after
    assert await store.commit_token() == after


async def test_watch_commits_wakes_a_waiter_for_another_connections_commit(store: JobStore, store_env: str) -> None:
    if store_env != "local":
        assert store.watch_commits(lambda: None) is None
        return
    from common.config import local_store_path
    from common.jobs.local import LocalJobStore

    other = await LocalJobStore.open(local_store_path())
    woken = asyncio.Event()
    stop = store.watch_commits(woken.set)
    assert stop is not None
    try:
        await other.create_job("ingest", {})
        await asyncio.wait_for(woken.wait(), timeout=30)
        stop()
        woken.clear()
        await other.create_job("ingest", {})
        await asyncio.sleep(0.05)
        assert not woken.is_set()
    finally:
        await other.close()


# -- reads for long-polling, operators and metrics ----------------------------------------------------------------


async def test_changed_snapshots_of_many_jobs_in_one_read(store: JobStore) -> None:
    queued, _ = await store.create_job("ingest", {"n": 1})
    running = await claimed_job(store, job_type="render")
    gone, _ = await store.create_job("ingest", {"n": 2})
    known = {queued.id: queued.updated_at, running.id: running.updated_at, gone.id: gone.updated_at}
    assert await store.get_changed_job_snapshots(known) == {}
    assert await store.set_progress(running.id, running.lease_token or "", 0.5)
    await store.cancel_job(gone.id)
    assert [job.id for job in await store.prune_jobs(-60)] == [gone.id]
    changed = await store.get_changed_job_snapshots({**known, "0" * 32: queued.updated_at})
    assert changed == {running.id: await store.get_job_snapshot(running.id), gone.id: None, "0" * 32: None}
    snapshot = changed[running.id]
    assert snapshot is not None
    assert snapshot.progress == 0.5
    assert await store.get_changed_job_snapshots({running.id: snapshot.updated_at}) == {}
    assert await store.get_changed_job_snapshots({}) == {}


async def test_changed_snapshots_since_a_time_are_every_job_updated_after_it(store: JobStore) -> None:
    assert await store.newest_job_update() is None
    untouched, _ = await store.create_job("ingest", {"n": 1})
    assert await store.newest_job_update() == untouched.updated_at
    running = await claimed_job(store, job_type="render")
    assert await store.newest_job_update() == running.updated_at
    assert await store.get_changed_job_snapshots({}, running.updated_at) == {}
    assert await store.set_progress(running.id, running.lease_token or "", 0.5)
    progressed = await store.get_job_snapshot(running.id)
    assert progressed is not None
    assert await store.newest_job_update() == progressed.updated_at
    # Found by time, though the caller named no job; the job created earlier and left alone is not.
    assert await store.get_changed_job_snapshots({}, running.updated_at) == {running.id: progressed}
    assert await store.get_changed_job_snapshots({}, progressed.updated_at) == {}
    # Both parts in one read: a named job that changed, and every job updated after the time given.
    cancelled = await store.cancel_job(untouched.id)
    assert cancelled is not None
    changed = await store.get_changed_job_snapshots({untouched.id: untouched.updated_at}, running.updated_at)
    assert changed == {untouched.id: await store.get_job_snapshot(untouched.id), running.id: progressed}


async def test_changed_snapshots_read_again_are_the_rows_as_they_are_now(store: JobStore) -> None:
    running = await claimed_job(store, job_type="render")
    since = running.updated_at - timedelta(seconds=1)
    first = await store.get_changed_job_snapshots({}, since)
    assert await store.get_changed_job_snapshots({}, since) == first
    assert await store.set_progress(running.id, running.lease_token or "", 0.25)
    progressed = await store.get_job_snapshot(running.id)
    assert progressed is not None
    assert progressed.progress == 0.25
    assert await store.get_changed_job_snapshots({}, since) == {running.id: progressed}


async def test_commit_token_moves_with_this_stores_own_writes(store: JobStore, store_env: str) -> None:
    if store_env != "local":
        assert await store.commit_token() is None
        return
    before = await store.commit_token()
    await store.create_job("ingest", {})
    after = await store.commit_token()
    assert after != before
    assert await store.commit_token() == after


async def test_retry_requeues_only_a_failed_job_with_a_fresh_budget(store: JobStore) -> None:
    job = await claimed_job(store, max_attempts=1)
    assert await store.retry_job(job.id) is None
    assert await store.fail_job(job.id, job.lease_token or "", JobError("corrupt_media", "cannot decode"))
    retried = await store.retry_job(job.id)
    assert retried is not None
    assert (retried.status, retried.attempts, retried.error, retried.result) == (JobStatus.QUEUED, 0, None, None)
    assert (retried.finished_at, retried.lease_token, retried.max_attempts) == (None, None, 1)
    assert await store.retry_job(job.id) is None
    again = await store.claim_next_job("worker-b", 30, ["ingest"])
    assert again is not None
    assert (again.id, again.attempts) == (job.id, 1)
    assert await store.retry_job("0" * 32) is None


async def test_metrics_describe_the_queue_failures_and_run_times(store: JobStore) -> None:
    await store.create_job("render", {})
    await store.create_job("render", {})
    await store.create_job("render", {}, run_after=now() + timedelta(hours=1))
    completed = await claimed_job(store, job_type="ingest")
    assert await store.complete_job(completed.id, completed.lease_token or "", {})
    failed = await claimed_job(store, job_type="ingest")
    assert await store.fail_job(failed.id, failed.lease_token or "", JobError("corrupt_media", "cannot decode"))
    await claimed_job(store, job_type="edit.save", lease_s=SHORT_LEASE_S, max_attempts=1)
    await asyncio.sleep(LEASE_LAPSE_S)
    assert await store.requeue_expired_jobs() == 1

    metrics = await store.get_metrics([0.001, 3600.0])
    assert metrics.jobs == await store.count_jobs()
    assert metrics.queues["render"].depth == 3
    age = metrics.queues["render"].oldest_runnable_age_s
    assert age is not None
    assert 0 <= age < 60
    assert "ingest" not in metrics.queues
    assert metrics.failures == {("ingest", "corrupt_media"): 1, ("edit.save", "worker_lost"): 1}
    assert metrics.bucket_bounds_s == (0.001, 3600.0)
    ingest_done = metrics.durations[("ingest", "completed")]
    assert ingest_done.count == 1
    assert ingest_done.bucket_counts[-1] == 1
    assert ingest_done.bucket_counts[0] <= ingest_done.bucket_counts[-1]
    assert metrics.durations[("ingest", "failed")].count == 1
    assert metrics.durations[("edit.save", "failed")].count == 1
    assert metrics.counters == {"leases_expired": 1}
    assert (await store.get_metrics([1.0])).counters == {"leases_expired": 1}


# -- deleting ----------------------------------------------------------------------------------------------------


async def test_deleting_an_asset_takes_its_versions_and_finished_jobs_and_cancels_the_rest(store: JobStore) -> None:
    asset, other = "a" * 32, "b" * 32
    await store.create_job("ingest", {"assetId": asset, "uploadId": "1" * 32})
    ingest = await store.claim_next_job("worker-a", 30, ["ingest"])
    assert ingest is not None
    await store.add_asset_version(other, "9" * 32, {"title": "kept"})
    first = await store.complete_job_with_asset_version(
        ingest.id, ingest.lease_token or "", {"assetId": asset}, asset, {"title": "Gone"}
    )
    assert first is not None
    await store.add_asset_version(asset, "2" * 32, {"title": "Gone"})
    await store.rename_asset(asset, "Renamed")
    render, _ = await store.create_job("render", {"assetId": asset, "version": 1})
    running = await store.claim_next_job("worker-a", 30, ["render"])
    assert running is not None
    assert running.id == render.id
    queued, _ = await store.create_job("edit.save", {"assetId": asset, "version": 2})
    elsewhere, _ = await store.create_job("render", {"assetId": other, "version": 1})

    deleted = await store.delete_asset(asset)

    assert deleted is not None
    assert [version.version for version in deleted.versions] == [1, 2]
    assert [job.id for job in deleted.finished_jobs] == [ingest.id]
    assert sorted(deleted.cancelled_job_ids) == sorted([render.id, queued.id])
    assert await store.get_job(ingest.id) is None
    for job_id in (render.id, queued.id):
        cancelled = await store.get_job(job_id)
        assert cancelled is not None
        assert cancelled.status is JobStatus.CANCELLED
        assert cancelled.error == JobError("asset_deleted", "the asset was deleted")
    assert not await store.heartbeat(render.id, running.lease_token or "", 30)
    assert (await store.get_job(elsewhere.id)).status is JobStatus.QUEUED  # type: ignore[union-attr]
    assert await store.get_asset_versions(asset) == []
    assert await store.get_asset_summary(asset) is None
    assert [summary.asset_id for summary in await store.list_assets()] == [other]
    assert await store.rename_asset(asset, "Back") is None
    assert await store.delete_asset(asset) is None
    assert await store.delete_asset("c" * 32) is None
    with pytest.raises(AssetDeleted):
        await store.add_asset_version(asset, "3" * 32, {"title": "late"})
    assert await store.get_asset_versions(asset) == []


async def test_a_job_that_records_a_version_of_a_deleted_asset_fails_with_asset_deleted(store: JobStore) -> None:
    asset = "e" * 32
    await store.add_asset_version(asset, "1" * 32, {"n": 1})
    # Queued after the deletion's cancel would have caught it: it runs, and tries to record its version.
    assert await store.delete_asset(asset) is not None
    job, _ = await store.create_job("edit.save", {"assetId": asset, "version": 1})
    claimed = await store.claim_next_job("worker-a", 30, ["edit.save"])
    assert claimed is not None
    with pytest.raises(AssetDeleted):
        await store.complete_job_with_asset_version(job.id, claimed.lease_token or "", {}, asset, {"n": 2})
    failed = await store.get_job(job.id)
    assert failed is not None
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert failed.error.code == "asset_deleted"
    assert await store.get_asset_versions(asset) == []
    assert await store.get_asset_summary(asset) is None
    # A new asset (an ingest's) is not affected, and neither is a run that lost its lease.
    fresh = await claimed_job(store)
    recorded = await store.complete_job_with_asset_version(fresh.id, fresh.lease_token or "", {}, "f" * 32, {})
    assert recorded is not None
    assert recorded.version == 1


async def test_deleting_a_version_keeps_the_others_and_refuses_the_last(store: JobStore) -> None:
    asset = "a" * 32
    maker = await claimed_job(store)
    first = await store.complete_job_with_asset_version(
        maker.id, maker.lease_token or "", {}, asset, {"title": "First", "durationSec": 1.0, "sizeBytes": 10}
    )
    assert first is not None
    await asyncio.sleep(0.01)
    second = await store.add_asset_version(asset, "2" * 32, {"title": "Second", "durationSec": 2.0, "sizeBytes": 20})
    third = await store.add_asset_version(asset, "3" * 32, {"title": "Third", "durationSec": 3.0, "sizeBytes": 30})
    before = await store.get_asset_summary(asset)
    assert before is not None

    deleted = await store.delete_asset_version(asset, 1)

    assert deleted == first
    assert await store.get_job(maker.id) is None
    assert [v.version for v in await store.get_asset_versions(asset)] == [2, 3]
    summary = await store.get_asset_summary(asset)
    assert summary is not None
    # Still listed, in its place: the asset's creation time does not move with its first version.
    assert (summary.created_at, summary.versions, summary.latest_version) == (before.created_at, 2, 3)
    assert (summary.title, summary.storage_bytes) == ("Second", 50)
    assert [s.asset_id for s in await store.list_assets()] == [asset]
    assert await store.delete_asset_version(asset, 1) is None
    assert await store.delete_asset_version(asset, 9) is None
    assert await store.delete_asset_version("c" * 32, 1) is None
    assert await store.delete_asset_version(asset, 3) == third
    summary = await store.get_asset_summary(asset)
    assert summary is not None
    assert (summary.versions, summary.latest_version, summary.duration_s) == (1, 2, 2.0)
    with pytest.raises(LastAssetVersion):
        await store.delete_asset_version(asset, 2)
    assert await store.get_asset_versions(asset) == [second]
    # Numbers are never given out twice: the next version follows the highest one still there.
    assert (await store.add_asset_version(asset, "4" * 32, {})).version == 3


async def test_deleting_a_finished_job_leaves_a_live_one(store: JobStore) -> None:
    done = await claimed_job(store, job_type="render")
    assert await store.complete_job(done.id, done.lease_token or "", {"url": "/media/renders/x/y.mp3"})
    running = await claimed_job(store, job_type="render")
    deleted = await store.delete_finished_job(done.id)
    assert deleted is not None
    assert deleted.result == {"url": "/media/renders/x/y.mp3"}
    assert await store.get_job(done.id) is None
    assert await store.delete_finished_job(done.id) is None
    assert await store.delete_finished_job(running.id) is None
    assert (await store.get_job(running.id)).status is JobStatus.RUNNING  # type: ignore[union-attr]


async def test_media_references_hold_every_job_and_version(store: JobStore) -> None:
    queued, _ = await store.create_job("ingest", {"uploadId": "1" * 32})
    done = await claimed_job(store, job_type="render")
    assert await store.complete_job(done.id, done.lease_token or "", {"url": "/media/renders/a/b.mp3"})
    version = await store.add_asset_version("a" * 32, "2" * 32, {"audioUrl": "/media/assets/a/m.flac"})
    refs = await store.get_media_references()
    assert {job.id: job.status for job in refs.jobs} == {queued.id: JobStatus.QUEUED, done.id: JobStatus.COMPLETED}
    assert {job.id: job.result for job in refs.jobs}[done.id] == {"url": "/media/renders/a/b.mp3"}
    assert refs.versions == [version]
