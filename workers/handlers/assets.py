"""What the handlers share: reading payloads, finding a version's files, and the shape of version info.

A version's ``info`` holds its public URLs (``audioUrl``, ``peaksUrl``); files are found again by mapping those
URLs back under MEDIA_ROOT, the one rule for both directions. ``frames`` keeps the exact length in samples.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from common.audio.editing import MasterAudio
from common.audio.headroom import headroom_from_json
from common.audio.loudness import loudness_from_json
from common.audio.version import VersionFiles
from common.edits import Edit, parse_edit_list
from common.errors import AppError, ConfigurationError, MediaError
from common.ids import is_valid_id
from common.jobs import AssetVersion, Job, get_job_store
from common.media import MEDIA_URL_PREFIX, media_url, resolve_media_url_path

DEFAULT_MAX_DURATION_S = 21600.0


class PayloadError(AppError):
    """The job's payload lacks a field or holds a malformed one: a bug in whoever created the job."""

    code = "invalid_payload"


def max_duration_s() -> float:
    raw = os.environ.get("MAX_DURATION_SECONDS") or str(DEFAULT_MAX_DURATION_S)
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"MAX_DURATION_SECONDS={raw!r} is not a number of seconds") from exc
    if value <= 0:
        raise ConfigurationError(f"MAX_DURATION_SECONDS={raw!r} must be positive")
    return value


def payload_id(job: Job, key: str) -> str:
    value = job.payload.get(key)
    if not isinstance(value, str) or not is_valid_id(value):
        raise PayloadError(f"the job payload's {key!r} is not a valid id")
    return value


def run_token(job: Job) -> str:
    """The lease token of this run of ``job``: its output folders are named from it (``common.media``)."""
    if job.lease_token is None:
        raise PayloadError(f"job {job.id} was not claimed: it has no lease token")
    return job.lease_token


def payload_version(job: Job) -> int:
    value = job.payload.get("version")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PayloadError("the job payload's 'version' is not a version number")
    return value


async def find_version(asset_id: str, number: int) -> AssetVersion:
    store = await get_job_store()
    for version in await store.get_asset_versions(asset_id):
        if version.version == number:
            return version
    raise AppError(f"asset {asset_id} has no version {number}", code="version_not_found")


async def payload_master(job: Job) -> tuple[AssetVersion, MasterAudio]:
    """The asset version the payload names (``assetId``, ``version``) and its master."""
    version = await find_version(payload_id(job, "assetId"), payload_version(job))
    return version, master_of(version)


def payload_edits(job: Job, master: MasterAudio) -> list[Edit]:
    """The payload's edit list. The web checked it against the duration it knew; this checks the exact one."""
    return parse_edit_list(job.payload.get("edits"), master.frames / master.sample_rate)


def master_of(version: AssetVersion) -> MasterAudio:
    """The master file of ``version`` with the format recorded when it was made."""
    info = version.info
    url = info.get("audioUrl")
    path = None
    if isinstance(url, str) and url.startswith(MEDIA_URL_PREFIX):
        path = resolve_media_url_path(url.removeprefix(MEDIA_URL_PREFIX))
    if path is None:
        raise AppError(f"version {version.version} of asset {version.asset_id} has no master", code="version_not_found")
    if not path.is_file():
        raise MediaError(f"the master of version {version.version} is missing", code="media_missing")
    loudness = info.get("loudness")
    stored = None
    if isinstance(loudness, dict):
        stored = replace(loudness_from_json(loudness), headroom=headroom_from_json(info.get("headroom")))
    return MasterAudio(path, int(info["sampleRate"]), int(info["channels"]), int(info["frames"]), stored)


def version_info(files: VersionFiles, *, source_format: str, source_codec: str, **extra: Any) -> dict[str, Any]:
    """The ``info`` recorded for a new version (the ingest result without ``assetId``/``version``, plus
    ``frames``, ``sizeBytes`` (its files together, for the library's storage figure) and whatever ``extra`` adds:
    ``title``, ``baseVersion``, ``edits``)."""
    return {
        **files.to_info(),
        "sizeBytes": files.master_path.stat().st_size + files.peaks_path.stat().st_size,
        "format": source_format,
        "codec": source_codec,
        "audioUrl": media_url(files.master_path),
        "peaksUrl": media_url(files.peaks_path),
        **extra,
    }
