from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest

from common.errors import AppError, ConfigurationError
from common.jobs import Job, JobStatus, get_job_store
from tests.support.worker_handlers import claimed_job
from workers.dispatch import UnknownJobType, bind_handlers, load_handlers, process_job
from workers.handler_protocol import JobContext
from workers.settings import WorkerSettings
from workers.worker import Worker


async def returns_list(job: Job, ctx: JobContext) -> Any:
    return [1]


async def echo(job: Job, ctx: JobContext) -> dict[str, Any]:
    return {"type": job.type}


async def named(job: Job, ctx: JobContext) -> dict[str, Any]:
    return {"handler": "named"}


async def in_context(handlers: dict[str, Any], job: Job) -> Any:
    """``process_job`` in a task bound to ``handlers``, as a worker runs it."""
    context = contextvars.copy_context()
    context.run(bind_handlers, handlers)
    return await asyncio.get_running_loop().create_task(process_job(job, None), context=context)  # type: ignore[arg-type]


async def test_process_job_calls_the_handler_for_the_job_type() -> None:
    assert await in_context({"noop": echo}, claimed_job()) == {"type": "noop"}


async def test_unknown_types_and_odd_results_are_errors() -> None:
    with pytest.raises(UnknownJobType):
        await in_context({"other": echo}, claimed_job())
    with pytest.raises(AppError, match="not a result object"):
        await in_context({"noop": returns_list}, claimed_job())


async def test_process_job_outside_a_worker_has_no_handlers() -> None:
    with pytest.raises(AppError, match="no handler table"):
        await process_job(claimed_job(), None)  # type: ignore[arg-type]


async def test_two_workers_in_one_process_each_dispatch_to_their_own_table() -> None:
    store = await get_job_store()
    first, _ = await store.create_job("noop", {})
    second, _ = await store.create_job("other", {})
    await asyncio.gather(
        Worker(WorkerSettings(), {"noop": echo}).run(burst=True),
        Worker(WorkerSettings(), {"other": named}).run(burst=True),
    )
    done_first, done_second = await store.get_job(first.id), await store.get_job(second.id)
    assert done_first is not None
    assert done_second is not None
    assert (done_first.status, done_first.result) == (JobStatus.COMPLETED, {"type": "noop"})
    assert (done_second.status, done_second.result) == (JobStatus.COMPLETED, {"handler": "named"})


def test_load_handlers_reads_a_modules_handlers() -> None:
    handlers = load_handlers("tests.support.worker_handlers")
    assert {"sleep", "record"} <= set(handlers)


@pytest.mark.parametrize("module", ["tests.support.no_such_module", "tests.support.ports"])
def test_load_handlers_rejects_modules_without_handlers(module: str) -> None:
    with pytest.raises(ConfigurationError):
        load_handlers(module)


def test_a_worker_without_handlers_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least one job type"):
        Worker(WorkerSettings(), {})
