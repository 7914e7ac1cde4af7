"""``process_job(job, ctx)``: the one place a claimed job meets its handler.

A worker is given its handler table (``Worker(settings, handlers)``) and binds it to the tasks that run its jobs
(``bind_handlers``); ``process_job`` dispatches through the table bound to the calling task, so two workers in one
process each use their own and nothing is filled in by importing a module. ``load_handlers`` reads a module's
``HANDLERS`` table by name, for ``python -m workers --handlers``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from contextvars import ContextVar

from common.assets import NewAssetVersion
from common.errors import AppError, ConfigurationError
from common.jobs.model import Job
from workers.handler_protocol import Handler, HandlerResult, JobContext

_bound_handlers: ContextVar[Mapping[str, Handler]] = ContextVar("bound_handlers")


class UnknownJobType(AppError):
    code = "unknown_job_type"


def load_handlers(module_name: str) -> dict[str, Handler]:
    """The ``HANDLERS`` table of the module ``module_name``."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import the handler module {module_name!r}: {exc}") from exc
    handlers = getattr(module, "HANDLERS", None)
    if not isinstance(handlers, Mapping) or not handlers:
        raise ConfigurationError(f"{module_name}.HANDLERS must be a non-empty dict of job type to handler")
    return dict(handlers)


def bind_handlers(handlers: Mapping[str, Handler]) -> None:
    """Make ``handlers`` the table ``process_job`` uses in the current context (and the tasks it starts)."""
    _bound_handlers.set(handlers)


async def process_job(job: Job, ctx: JobContext) -> HandlerResult:
    """Run the handler for ``job.type`` and return its result."""
    handlers = _bound_handlers.get(None)
    if handlers is None:
        raise AppError("process_job was called outside a worker: no handler table is bound")
    handler = handlers.get(job.type)
    if handler is None:
        raise UnknownJobType(f"this worker has no handler for jobs of type {job.type!r}")
    result = await handler(job, ctx)
    if not isinstance(result, dict | NewAssetVersion):
        raise AppError(f"the {job.type} handler returned {type(result).__name__}, not a result object")
    return result
