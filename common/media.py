"""The layout of files under MEDIA_ROOT and their public ``/media/...`` URLs: the one place that knows it.

Every run of a job writes into a folder of its own, named from the run's lease token, under the job's folder:
``assets/<assetId>/<jobId>/<run>/``, ``previews/<jobId>/<run>/``, ``renders/<jobId>/<run>/``. Two runs of one job
(a worker frozen past its lease and the worker that ran the job again) therefore never write or remove each
other's files; a run's files reach clients only through the job's fenced completion, which names them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from common.config import media_root

MEDIA_URL_PREFIX = "/media/"
#: Hex digits of a run folder's name: 128 bits, as many as an id.
_RUN_NAME_CHARS = 32


def upload_path(upload_id: str) -> Path:
    """Where the web streams an upload; the client's filename is never part of it."""
    return media_root() / "uploads" / upload_id


def run_name(lease_token: str) -> str:
    """A run's folder name: a digest of its lease token, so the token itself never appears in a public URL."""
    return hashlib.sha256(lease_token.encode()).hexdigest()[:_RUN_NAME_CHARS]


def asset_job_dir(asset_id: str, job_id: str) -> Path:
    """The folder of an ingest or edit-save job's runs, each writing one version of an asset (master, peaks)."""
    return media_root() / "assets" / asset_id / job_id


def preview_dir(job_id: str) -> Path:
    """The folder of an edit-preview job's runs."""
    return media_root() / "previews" / job_id


def render_dir(job_id: str) -> Path:
    """The folder of a render job's runs."""
    return media_root() / "renders" / job_id


def asset_run_dir(asset_id: str, job_id: str, lease_token: str) -> Path:
    return asset_job_dir(asset_id, job_id) / run_name(lease_token)


def preview_run_dir(job_id: str, lease_token: str) -> Path:
    return preview_dir(job_id) / run_name(lease_token)


def render_run_dir(job_id: str, lease_token: str) -> Path:
    return render_dir(job_id) / run_name(lease_token)


def _job_dirs(asset_id: str | None, job_id: str) -> list[Path]:
    dirs = [preview_dir(job_id), render_dir(job_id)]
    if asset_id:
        dirs.append(asset_job_dir(asset_id, job_id))
    return dirs


def run_output_dirs(asset_id: str | None, job_id: str, lease_token: str) -> list[Path]:
    """Every folder one run of a job may write to: the only folders that run may remove while the job is not
    terminal."""
    return [folder / run_name(lease_token) for folder in _job_dirs(asset_id, job_id)]


def job_run_dirs(asset_id: str | None, job_id: str) -> list[Path]:
    """The run folders of every run of a job that exist now (blocking: lists folders)."""
    return [child for parent in _job_dirs(asset_id, job_id) if parent.is_dir() for child in parent.iterdir()]


def published_paths(result: Any) -> set[Path]:
    """The files a job result names by ``/media/...`` URL (at any depth), resolved under MEDIA_ROOT."""
    paths: set[Path] = set()
    for text in _strings(result):
        if text.startswith(MEDIA_URL_PREFIX):
            path = resolve_media_url_path(text.removeprefix(MEDIA_URL_PREFIX))
            if path is not None:
                paths.add(path)
    return paths


def holds_any(folder: Path, paths: Iterable[Path]) -> bool:
    """True when one of ``paths`` lies inside ``folder``."""
    root = folder.resolve()
    return any(path.is_relative_to(root) for path in paths)


def media_url(path: Path) -> str:
    """The public URL of a file under MEDIA_ROOT."""
    return MEDIA_URL_PREFIX + path.resolve().relative_to(media_root().resolve()).as_posix()


def resolve_media_url_path(relative: str) -> Path | None:
    """The file a ``/media/<relative>`` URL names, or ``None`` when it would resolve outside MEDIA_ROOT."""
    root = media_root().resolve()
    candidate = (root / relative).resolve()
    if candidate == root or not candidate.is_relative_to(root):
        return None
    return candidate


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
