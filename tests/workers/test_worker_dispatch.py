from __future__ import annotations

from typing import Any

import pytest

from common.errors import AppError, ConfigurationError
from common.jobs import Job
from tests.support.worker_handlers import claimed_job
from workers.context import JobContext
from workers.dispatch import UnknownJobType, handled_job_types, load_handlers, process_job, use_handlers


async def returns_list(job: Job, ctx: JobContext) -> Any:
    return [1]


async def echo(job: Job, ctx: JobContext) -> dict[str, Any]:
    return {"type": job.type}


async def test_process_job_calls_the_handler_for_the_job_type() -> None:
    use_handlers({"noop": echo})
    assert await process_job(claimed_job(), None) == {"type": "noop"}  # type: ignore[arg-type]


async def test_unknown_types_and_odd_results_are_errors() -> None:
    use_handlers({"other": echo})
    with pytest.raises(UnknownJobType):
        await process_job(claimed_job(), None)  # type: ignore[arg-type]
    use_handlers({"noop": returns_list})
    with pytest.raises(AppError, match="not a result object"):
        await process_job(claimed_job(), None)  # type: ignore[arg-type]


def test_load_handlers_reads_a_modules_handlers() -> None:
    assert "sleep" in load_handlers("tests.support.worker_handlers")
    assert "record" in handled_job_types()


@pytest.mark.parametrize("module", ["tests.support.no_such_module", "tests.support.ports"])
def test_load_handlers_rejects_modules_without_handlers(module: str) -> None:
    with pytest.raises(ConfigurationError):
        load_handlers(module)
