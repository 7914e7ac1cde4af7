"""``Settler``: the worker's final writes (complete, fail, release), committed together (group commit).

A run that ended hands its settlement here and awaits the store's answer for it alone. While one group is being
written, the settlements of runs that end meanwhile wait and go together in the next group: no added delay when
the worker is quiet, one statement for many jobs when it is busy. Fencing is the store's, per settlement
(``JobStore.settle_jobs``): a refused settlement comes back ``False`` to its own run, and the rest of its group
still commits. A store error reaches every run of the group, and each retries on its own (``JobRun._write``).
"""

from __future__ import annotations

import asyncio

from common.errors import StoreError
from common.jobs import JobStore, Settlement


class Settler:
    def __init__(self, store: JobStore) -> None:
        self._store = store
        self._waiting: list[tuple[Settlement, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def settle(self, settlement: Settlement) -> bool:
        """``True`` when the store applied it; ``False`` when it refused it (this run no longer owns the job)."""
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((settlement, answer))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_groups())
        return await answer

    async def _write_groups(self) -> None:
        group: list[tuple[Settlement, asyncio.Future[bool]]] = []
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                try:
                    applied = await self._store.settle_jobs([settlement for settlement, _ in group])
                except StoreError as exc:
                    for _, answer in group:
                        if not answer.done():
                            answer.set_exception(exc)
                    continue
                for (_, answer), done in zip(group, applied, strict=True):
                    if not answer.done():
                        answer.set_result(done)
        finally:
            self._writer = None
            # Cut off (the loop is closing) or broken by a bug: no run may wait for an answer that cannot come.
            for _, answer in (*group, *self._waiting):
                if not answer.done():
                    answer.set_exception(StoreError("the worker stopped before this write was made", transient=True))
            self._waiting = []
