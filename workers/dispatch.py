"""``process_job(job, ctx)``: the one place a claimed job meets its handler.

Handlers come from a module with a ``HANDLERS`` dict (``workers.handlers`` unless the worker is told otherwise),
so tests and benchmarks run real worker processes with handlers of their own.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from common.assets import NewAssetVersion
from common.errors import AppError, ConfigurationError
from common.jobs.model import Job
from workers.context import Handler, HandlerResult, JobContext

_handlers: dict[str, Handler] = {}


class UnknownJobType(AppError):
    code = "unknown_job_type"


def load_handlers(module_name: str) -> dict[str, Handler]:
    """Import ``module_name`` and make its ``HANDLERS`` the ones ``process_job`` uses."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import the handler module {module_name!r}: {exc}") from exc
    handlers = getattr(module, "HANDLERS", None)
    if not isinstance(handlers, Mapping) or not handlers:
        raise ConfigurationError(f"{module_name}.HANDLERS must be a non-empty dict of job type to handler")
    use_handlers(handlers)
    return dict(_handlers)


def use_handlers(handlers: Mapping[str, Handler]) -> None:
    _handlers.clear()
    _handlers.update(handlers)


def handled_job_types() -> list[str]:
    return sorted(_handlers)


async def process_job(job: Job, ctx: JobContext) -> HandlerResult:
    """Run the handler for ``job.type`` and return its result."""
    handler = _handlers.get(job.type)
    if handler is None:
        raise UnknownJobType(f"this worker has no handler for jobs of type {job.type!r}")
    result = await handler(job, ctx)
    if not isinstance(result, dict | NewAssetVersion):
        raise AppError(f"the {job.type} handler returned {type(result).__name__}, not a result object")
    return result
