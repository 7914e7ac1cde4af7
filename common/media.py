"""The layout of files under MEDIA_ROOT and their public ``/media/...`` URLs: the one place that knows it.

A job writes into a folder named after its own id, so a retried or duplicated run never collides with another
job's files; the asset's version number is given out by the store, not by the file system.
"""

from __future__ import annotations

from pathlib import Path

from common.config import media_root

MEDIA_URL_PREFIX = "/media/"


def upload_path(upload_id: str) -> Path:
    """Where the web streams an upload; the client's filename is never part of it."""
    return media_root() / "uploads" / upload_id


def asset_job_dir(asset_id: str, job_id: str) -> Path:
    """Where an ingest or edit-save job writes one version of an asset (master, peaks)."""
    return media_root() / "assets" / asset_id / job_id


def preview_dir(job_id: str) -> Path:
    return media_root() / "previews" / job_id


def render_dir(job_id: str) -> Path:
    return media_root() / "renders" / job_id


def job_output_dirs(asset_id: str | None, job_id: str) -> list[Path]:
    """Every folder a job may write to, so a cancelled or failed job's partial output can be removed."""
    dirs = [preview_dir(job_id), render_dir(job_id)]
    if asset_id:
        dirs.append(asset_job_dir(asset_id, job_id))
    return dirs


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
