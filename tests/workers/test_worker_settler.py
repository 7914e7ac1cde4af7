"""The worker's group commit (``workers.settler.Settler``) on every store backend: runs that end together are settled
in one group, each still fenced by its own lease."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from common.errors import StoreError
from common.jobs import Job, JobStatus, JobStore, Settlement, get_job_store
from workers.settler import Settler


async def running_jobs(store: JobStore, count: int) -> list[Job]:
    for n in range(count):
        await store.create_job("noop", {"n": n})
    jobs = await store.claim_jobs("worker-a", 30, count)
    assert len(jobs) == count
    return jobs


def record_groups(store: JobStore, monkeypatch: pytest.MonkeyPatch, groups: list[list[str]]) -> None:
    real_settle = store.settle_jobs

    async def recording(settlements: Sequence[Settlement]) -> list[bool]:
        groups.append([settlement.job_id for settlement in settlements])
        return await real_settle(settlements)

    monkeypatch.setattr(store, "settle_jobs", recording)


async def test_runs_ending_together_settle_in_one_group_and_a_fenced_out_one_is_refused_alone(
    store_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await get_job_store()
    jobs = await running_jobs(store, 4)
    await store.cancel_job(jobs[1].id)
    groups: list[list[str]] = []
    record_groups(store, monkeypatch, groups)
    settler = Settler(store)
    answers = await asyncio.gather(
        *(settler.settle(Settlement.complete(job.id, job.lease_token or "", {"n": n})) for n, job in enumerate(jobs))
    )
    assert answers == [True, False, True, True]
    assert groups == [[job.id for job in jobs]]
    statuses = [(await store.get_job(job.id)).status for job in jobs]
    assert statuses == [JobStatus.COMPLETED, JobStatus.CANCELLED, JobStatus.COMPLETED, JobStatus.COMPLETED]


async def test_settlements_arriving_during_a_write_go_together_in_the_next_group(
    store_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await get_job_store()
    first, *others = await running_jobs(store, 4)
    real_settle = store.settle_jobs
    groups: list[list[str]] = []
    writing, go_on = asyncio.Event(), asyncio.Event()

    async def held_first(settlements: Sequence[Settlement]) -> list[bool]:
        groups.append([settlement.job_id for settlement in settlements])
        if len(groups) == 1:
            writing.set()
            await go_on.wait()
        return await real_settle(settlements)

    monkeypatch.setattr(store, "settle_jobs", held_first)
    settler = Settler(store)
    first_answer = asyncio.create_task(settler.settle(Settlement.complete(first.id, first.lease_token or "", {})))
    await writing.wait()
    later = [asyncio.create_task(settler.settle(Settlement.release(job.id, job.lease_token or ""))) for job in others]
    await asyncio.sleep(0)
    go_on.set()
    assert await first_answer is True
    assert await asyncio.gather(*later) == [True] * 3
    assert groups == [[first.id], [job.id for job in others]]
    assert [(await store.get_job(job.id)).status for job in others] == [JobStatus.QUEUED] * 3


async def test_a_store_error_reaches_every_run_of_the_group_and_a_retry_lands(
    store_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await get_job_store()
    jobs = await running_jobs(store, 2)
    real_settle = store.settle_jobs
    calls = 0

    async def dropped_once(settlements: Sequence[Settlement]) -> list[bool]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StoreError("connection dropped", transient=True)
        return await real_settle(settlements)

    monkeypatch.setattr(store, "settle_jobs", dropped_once)
    settler = Settler(store)
    settlements = [Settlement.complete(job.id, job.lease_token or "", {}) for job in jobs]
    outcomes = await asyncio.gather(*(settler.settle(each) for each in settlements), return_exceptions=True)
    assert all(isinstance(outcome, StoreError) and outcome.transient for outcome in outcomes)
    assert await asyncio.gather(*(settler.settle(each) for each in settlements)) == [True, True]
    assert [(await store.get_job(job.id)).status for job in jobs] == [JobStatus.COMPLETED] * 2


def record_calls(store: JobStore, monkeypatch: pytest.MonkeyPatch, calls: list[str]) -> None:
    for name in ("settle_jobs", "claim_jobs", "settle_and_claim"):
        real = getattr(store, name)

        async def recording(*args: object, real: Any = real, name: str = name) -> Any:
            calls.append(name)
            return await real(*args)

        monkeypatch.setattr(store, name, recording)


@pytest.mark.parametrize("combines", [True, False])
async def test_a_claim_rides_with_the_waiting_settlements_where_the_store_combines_them(
    store_env: str, monkeypatch: pytest.MonkeyPatch, combines: bool
) -> None:
    store = await get_job_store()
    monkeypatch.setattr(store, "combines_settle_and_claim", combines)
    jobs = await running_jobs(store, 2)
    await store.cancel_job(jobs[1].id)
    queued = [(await store.create_job("noop", {"n": n}))[0] for n in range(2)]
    calls: list[str] = []
    record_calls(store, monkeypatch, calls)
    settler = Settler(store)
    settling = [
        asyncio.create_task(settler.settle(Settlement.complete(job.id, job.lease_token or "", {}))) for job in jobs
    ]
    claimed = await settler.claim("worker-b", 30, 4, None)
    assert await asyncio.gather(*settling) == [True, False]
    assert [job.id for job in claimed] == [job.id for job in queued]
    assert sorted(calls) == (["settle_and_claim"] if combines else ["claim_jobs", "settle_jobs"])
    assert await settler.claim("worker-b", 30, 4, None) == []
    assert calls[-1] == "claim_jobs"


async def test_a_store_error_reaches_the_claim_that_rode_with_the_group_and_a_retry_lands(
    store_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await get_job_store()
    monkeypatch.setattr(store, "combines_settle_and_claim", True)
    (running,) = await running_jobs(store, 1)
    queued, _ = await store.create_job("noop", {"n": 1})
    real = store.settle_and_claim
    calls = 0

    async def dropped_once(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise StoreError("connection dropped", transient=True)
        return await real(*args)

    monkeypatch.setattr(store, "settle_and_claim", dropped_once)
    settler = Settler(store)
    settlement = Settlement.complete(running.id, running.lease_token or "", {})
    settling = asyncio.create_task(settler.settle(settlement))
    with pytest.raises(StoreError):
        await settler.claim("worker-b", 30, 4, None)
    with pytest.raises(StoreError):
        await settling
    assert (await store.get_job(queued.id)).status is JobStatus.QUEUED
    settling = asyncio.create_task(settler.settle(settlement))
    assert [job.id for job in await settler.claim("worker-b", 30, 4, None)] == [queued.id]
    assert await settling is True
    assert calls == 2
