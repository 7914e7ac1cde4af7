"""Where the project keeps its files. Paths resolve against the project root, never the current directory,
so a web and a worker started from different folders still share one store file and one media tree."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JOB_STORE_PATH = ".data/jobs.sqlite3"


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
