from __future__ import annotations

import asyncio

import pytest

from common.errors import JobCancelled
from tests.support.worker_handlers import claimed_job
from workers.job_context import RunningJobContext, StopReason


async def test_progress_from_a_thread_wakes_the_writer_with_the_latest_value() -> None:
    ctx = RunningJobContext(claimed_job(), asyncio.get_running_loop())

    def work() -> None:
        for step in range(1, 101):
            ctx.report_progress(step / 100)

    await asyncio.to_thread(work)
    assert await asyncio.wait_for(ctx.next_progress(), 1) == (1.0, None)
    ctx.report_progress(7)
    assert await asyncio.wait_for(ctx.next_progress(), 1) == (1.0, None)
    ctx.report_progress(-1)
    assert await asyncio.wait_for(ctx.next_progress(), 1) == (0.0, None)
    await asyncio.to_thread(ctx.report_stage, "encoding")
    assert await asyncio.wait_for(ctx.next_progress(), 1) == (0.0, "encoding")


async def test_stop_makes_raise_if_cancelled_raise_and_the_first_reason_wins() -> None:
    ctx = RunningJobContext(claimed_job(), asyncio.get_running_loop())
    ctx.raise_if_cancelled()
    assert ctx.request_stop(StopReason.TIMEOUT) is True
    assert ctx.request_stop(StopReason.SHUTDOWN) is False
    assert ctx.stop_reason is StopReason.TIMEOUT
    with pytest.raises(JobCancelled, match="time limit"):
        await asyncio.to_thread(ctx.raise_if_cancelled)
