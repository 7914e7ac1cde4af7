"""Where the project keeps its files. Paths resolve against the project root, never the current directory,
so a web and a worker started from different folders still share one store file and one media tree."""

from __future__ import annotations

import os
from pathlib import Path

from common.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JOB_STORE_PATH = ".data/jobs.sqlite3"
DEFAULT_JOB_MAX_ATTEMPTS = 3


def resolve_project_path(value: str) -> Path:
    """An absolute path for ``value``; relative values are taken from the project root."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


def local_store_path() -> Path:
    return resolve_project_path(os.environ.get("JOB_STORE_PATH") or DEFAULT_JOB_STORE_PATH)


def media_root() -> Path:
    """``MEDIA_ROOT``, or ``media/`` beside the local job store file."""
    configured = os.environ.get("MEDIA_ROOT")
    if configured:
        return resolve_project_path(configured)
    return local_store_path().parent / "media"


def job_max_attempts() -> int:
    """``JOB_MAX_ATTEMPTS``: how many times a new job may run (its first run and its retries). The store writes it
    into the job's row when the job is created; from then on that row alone decides whether a run is retried."""
    raw = os.environ.get("JOB_MAX_ATTEMPTS", "").strip()
    if not raw:
        return DEFAULT_JOB_MAX_ATTEMPTS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigurationError(f"JOB_MAX_ATTEMPTS={raw!r} must be a whole number of at least 1")
    return value


def keep_originals() -> bool:
    """``KEEP_ORIGINALS``: ``1`` keeps each upload as its asset's downloadable original (a file of version 1,
    counted in the asset's storage and deleted with it); otherwise an upload is removed once its ingest ended."""
    raw = os.environ.get("KEEP_ORIGINALS", "").strip().lower()
    if raw in {"", "0", "false", "no", "off"}:
        return False
    if raw in {"1", "true", "yes", "on"}:
        return True
    raise ConfigurationError(f"KEEP_ORIGINALS={raw!r} must be 1 or 0")


def media_max_bytes() -> int | None:
    """``MEDIA_MAX_BYTES``: the most bytes the media store may hold in all (uploads, masters, peaks, previews,
    renders), on any backend; ``None`` (unset) for no limit but the disk's or the bucket's own."""
    raw = os.environ.get("MEDIA_MAX_BYTES", "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ConfigurationError(f"MEDIA_MAX_BYTES={raw!r} must be a whole number of bytes, at least 1")
    return int(raw)
