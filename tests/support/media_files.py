"""Where the local media store keeps each key under the test's ``MEDIA_ROOT``, for tests that look at (or plant)
files directly. The key layout itself comes from ``common.media``; only tests map keys to paths."""

from __future__ import annotations

from pathlib import Path

from common import media
from common.config import media_root
from common.media import MEDIA_URL_PREFIX

__all__ = [
    "MEDIA_URL_PREFIX",
    "asset_job_dir",
    "asset_run_dir",
    "job_run_dirs",
    "media_path",
    "media_url",
    "preview_dir",
    "preview_run_dir",
    "render_dir",
    "render_run_dir",
    "resolve_media_url_path",
    "upload_path",
]


def media_path(key: str) -> Path:
    return media_root() / key


def upload_path(upload_id: str) -> Path:
    return media_path(media.upload_key(upload_id))


def asset_job_dir(asset_id: str, job_id: str) -> Path:
    return media_path(media.asset_job_prefix(asset_id, job_id))


def preview_dir(job_id: str) -> Path:
    return media_path(media.preview_prefix(job_id))


def render_dir(job_id: str) -> Path:
    return media_path(media.render_prefix(job_id))


def asset_run_dir(asset_id: str, job_id: str, lease_token: str) -> Path:
    return media_path(media.asset_run_prefix(asset_id, job_id, lease_token))


def preview_run_dir(job_id: str, lease_token: str) -> Path:
    return media_path(media.preview_run_prefix(job_id, lease_token))


def render_run_dir(job_id: str, lease_token: str) -> Path:
    return media_path(media.render_run_prefix(job_id, lease_token))


def job_run_dirs(asset_id: str | None, job_id: str) -> list[Path]:
    """The run folders of every run of a job that exist now."""
    parents = [media_path(prefix) for prefix in media.job_prefixes(asset_id, job_id)]
    return [child for parent in parents if parent.is_dir() for child in parent.iterdir()]


def media_url(path: Path) -> str:
    """The public URL of a file under ``MEDIA_ROOT``."""
    return media.media_url(path.resolve().relative_to(media_root().resolve()).as_posix())


def resolve_media_url_path(relative: str) -> Path | None:
    """The file a ``/media/<relative>`` URL names, or ``None`` when it names no valid key."""
    key = media.normalised_key(relative)
    return None if key is None else media_path(key)
