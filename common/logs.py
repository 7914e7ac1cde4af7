"""Logging set-up shared by the web and worker processes: ``LOG_FORMAT=plain`` (the default, one readable line per
event) or ``LOG_FORMAT=json`` (one JSON object per line, for log collectors).

A JSON line holds ``time`` (UTC, ISO-8601 with milliseconds), ``level``, ``logger``, ``message``, ``job_id`` and
``worker_id`` (``null`` when the event concerns none), and ``exception`` when there is a traceback. The job id
comes from the record's ``job_id`` attribute (``extra={"job_id": ...}``) or else from the message, where the house
style puts it as ``job <id>``; the worker id is the process's own, set once with ``set_worker_id``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime

from common.errors import ConfigurationError

FORMATS = ("plain", "json")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_JOB_ID_IN_MESSAGE = re.compile(r"\bjob ([0-9a-f]{32})\b")


def log_format() -> str:
    """``LOG_FORMAT`` from the environment; an unknown value is a configuration error."""
    value = os.environ.get("LOG_FORMAT", "").strip().lower() or "plain"
    if value not in FORMATS:
        raise ConfigurationError(f"LOG_FORMAT={value!r} is not a log format; use one of: {', '.join(FORMATS)}")
    return value


class JsonFormatter(logging.Formatter):
    def __init__(self, worker_id: str | None = None) -> None:
        super().__init__()
        self.worker_id = worker_id

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        job_id = getattr(record, "job_id", None)
        if job_id is None:
            found = _JOB_ID_IN_MESSAGE.search(message)
            job_id = found.group(1) if found else None
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "job_id": job_id,
            "worker_id": getattr(record, "worker_id", None) or self.worker_id,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str | int | None = None) -> None:
    """Log to stderr at ``level`` (default ``LOG_LEVEL``, else INFO) in the ``LOG_FORMAT`` the environment asks for."""
    chosen = log_format()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if chosen == "json" else logging.Formatter(PLAIN_FORMAT))
    resolved = level if level is not None else os.environ.get("LOG_LEVEL", "INFO")
    logging.basicConfig(
        level=resolved.upper() if isinstance(resolved, str) else resolved, handlers=[handler], force=True
    )


def set_worker_id(worker_id: str) -> None:
    """Every JSON line this process writes from now on names ``worker_id``."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, JsonFormatter):
            handler.formatter.worker_id = worker_id
