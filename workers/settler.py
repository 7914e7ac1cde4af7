"""``Settler``: the worker's final writes (complete, fail, release), committed together (group commit), and on a
server store the worker's claims with them.

A run that ended hands its settlement here and awaits the store's answer for it alone. While one group is being
written, the settlements of runs that end meanwhile wait and go together in the next group: no added delay when
the worker is quiet, one statement for many jobs when it is busy. Fencing is the store's, per settlement
(``JobStore.settle_jobs``): a refused settlement comes back ``False`` to its own run, and the rest of its group
still commits. A store error reaches every run of the group, and each retries on its own (``JobRun._write``).

On a store that ``combines_settle_and_claim`` (sqld, Turso: every request is a round trip and a connection on the
server), the worker's claim for its free slots joins the next group, so a busy worker sends one request where it
would send two (``JobStore.settle_and_claim``: one transaction, each part as fenced and exact as on its own). A
claim asked while a group is being written waits for it, as the settlements do; a claim with no settlement waiting
is sent alone at once. A store error reaches the claim too, and the claim loop retries it as any failed claim.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from common.errors import StoreError
from common.jobs import Job, JobStore, Settlement

_Claim = tuple[str, float, int, Sequence[str] | None]


class Settler:
    def __init__(self, store: JobStore) -> None:
        self._store = store
        self._waiting: list[tuple[Settlement, asyncio.Future[bool]]] = []
        self._claim: tuple[_Claim, asyncio.Future[list[Job]]] | None = None
        self._writer: asyncio.Task[None] | None = None

    async def settle(self, settlement: Settlement) -> bool:
        """``True`` when the store applied it; ``False`` when it refused it (this run no longer owns the job)."""
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((settlement, answer))
        self._start_writer()
        return await answer

    async def claim(self, worker_id: str, lease_s: float, limit: int, job_types: Sequence[str] | None) -> list[Job]:
        """``JobStore.claim_jobs``, sent with the next group where the store combines the two. One caller (the
        worker's claim loop) claims at a time."""
        if not self._store.combines_settle_and_claim:
            return await self._store.claim_jobs(worker_id, lease_s, limit, job_types)
        if self._claim is not None:
            raise RuntimeError("a claim is already waiting: claims are made one at a time")
        answer: asyncio.Future[list[Job]] = asyncio.get_running_loop().create_future()
        self._claim = ((worker_id, lease_s, limit, job_types), answer)
        self._start_writer()
        return await answer

    def _start_writer(self) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_groups())

    async def _write_groups(self) -> None:
        group: list[tuple[Settlement, asyncio.Future[bool]]] = []
        claim: tuple[_Claim, asyncio.Future[list[Job]]] | None = None
        try:
            while self._waiting or self._claim is not None:
                group, self._waiting = self._waiting, []
                claim, self._claim = self._claim, None
                try:
                    applied, jobs = await self._write([settlement for settlement, _ in group], claim)
                except StoreError as exc:
                    for answer in self._answers(group, claim):
                        if not answer.done():
                            answer.set_exception(exc)
                    continue
                for (_, settled), done in zip(group, applied, strict=True):
                    if not settled.done():
                        settled.set_result(done)
                if claim is not None and not claim[1].done():
                    claim[1].set_result(jobs)
        finally:
            self._writer = None
            # Cut off (the loop is closing) or broken by a bug: no caller may wait for an answer that cannot come.
            for answer in (*self._answers(group, claim), *self._answers(self._waiting, self._claim)):
                if not answer.done():
                    answer.set_exception(StoreError("the worker stopped before this write was made", transient=True))
            self._waiting, self._claim = [], None

    async def _write(
        self, settlements: list[Settlement], claim: tuple[_Claim, asyncio.Future[list[Job]]] | None
    ) -> tuple[list[bool], list[Job]]:
        if claim is None:
            return await self._store.settle_jobs(settlements), []
        if not settlements:
            return [], await self._store.claim_jobs(*claim[0])
        return await self._store.settle_and_claim(settlements, *claim[0])

    @staticmethod
    def _answers(
        group: list[tuple[Settlement, asyncio.Future[bool]]], claim: tuple[_Claim, asyncio.Future[list[Job]]] | None
    ) -> list[asyncio.Future[bool] | asyncio.Future[list[Job]]]:
        answers: list[asyncio.Future[bool] | asyncio.Future[list[Job]]] = [answer for _, answer in group]
        if claim is not None:
            answers.append(claim[1])
        return answers
