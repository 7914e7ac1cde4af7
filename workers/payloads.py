"""What the handlers share: reading payloads, fetching a version's master, storing a new version, version info.

A version's ``info`` holds its public URLs (``audioUrl``, ``peaksUrl``); its objects are found again by mapping
those URLs back to media keys (``common.media``), the one rule for both directions. ``frames`` keeps the exact
length in samples. Handlers fetch their input from the media store into their scratch folder and store their
output under their run's prefix. A context preview alone reads its master where it lies: the local store's own
file, or the S3 object in byte ranges (``common.media_store.range_file``), since it reads a few excerpts only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from common.audio.editing import MasterAudio
from common.audio.headroom import headroom_from_json
from common.audio.loudness import loudness_from_json
from common.audio.source import MediaWarning, SourceFile
from common.audio.version import VersionFiles
from common.edits import REPAIR_OPS, Edit, parse_edit_list
from common.errors import AppError, ConfigurationError, MediaError
from common.ids import is_valid_id
from common.jobs import AssetVersion, Job, get_job_store
from common.media import content_type, file_name, key_of_media_url, media_url
from common.media_store import MediaNotFound, get_media_store
from common.media_store.range_file import RangedObject

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


async def payload_master(
    job: Job, folder: Path, *, in_place: bool = False, ranged: bool = False
) -> tuple[AssetVersion, MasterAudio]:
    """The asset version the payload names (``assetId``, ``version``) and its master, fetched into ``folder`` (see
    ``fetch_master`` for ``in_place`` and ``ranged``)."""
    version = await find_version(payload_id(job, "assetId"), payload_version(job))
    return version, await fetch_master(version, folder, in_place=in_place, ranged=ranged)


def payload_asks_for_repairs(job: Job) -> bool:
    """Whether the payload's edit list names a repair, read before the list is checked against the master."""
    edits = job.payload.get("edits")
    return isinstance(edits, list) and any(isinstance(edit, dict) and edit.get("op") in REPAIR_OPS for edit in edits)


def payload_edits(job: Job, master: MasterAudio) -> list[Edit]:
    """The payload's edit list. The web checked it against the duration it knew; this checks the exact one."""
    return parse_edit_list(job.payload.get("edits"), master.frames / master.sample_rate)


async def fetch_master(
    version: AssetVersion, folder: Path, *, in_place: bool = False, ranged: bool = False
) -> MasterAudio:
    """The master of ``version``, copied from the media store into ``folder``, with the format recorded when it
    was made. A context preview reads a few excerpts of it, not worth a copy of the whole, so it may read the
    master where it lies: with ``in_place``, a store that keeps its objects as files (local) gives its own file;
    with ``ranged``, any other store gives a ``RangedObject``, read in byte ranges through this event loop from the
    handler's threads. Masters are never rewritten, and a deleted local one stays readable while open."""
    info = version.info
    url = info.get("audioUrl")
    key = key_of_media_url(url) if isinstance(url, str) else None
    if key is None:
        raise AppError(f"version {version.version} of asset {version.asset_id} has no master", code="version_not_found")
    store = await get_media_store()
    path: SourceFile | None
    try:
        path = await store.local_path(key) if in_place else None
        if path is None and ranged:
            path = await RangedObject.of(store, key)
        if path is None:
            path = folder / "master" / file_name(key)
            await store.get_file(key, path)
    except MediaNotFound as exc:
        raise MediaError(f"the master of version {version.version} is missing", code="media_missing") from exc
    loudness = info.get("loudness")
    stored = None
    if isinstance(loudness, dict):
        stored = replace(loudness_from_json(loudness), headroom=headroom_from_json(info.get("headroom")))
    return MasterAudio(path, int(info["sampleRate"]), int(info["channels"]), int(info["frames"]), stored)


async def store_version(
    files: VersionFiles,
    prefix: str,
    *,
    source_format: str,
    source_codec: str,
    warnings: Sequence[MediaWarning] = (),
    **extra: Any,
) -> dict[str, Any]:
    """Store a new version's master and peaks under ``prefix`` (the run's own) and return its ``info`` (the ingest
    result without ``assetId``/``version``, plus ``frames``, ``sizeBytes`` (its objects together, for the
    library's storage figure) and whatever ``extra`` adds: ``title``, ``baseVersion``, ``edits``). ``warnings``
    is the damage found in the source, if any."""
    store = await get_media_store()
    master_key = f"{prefix}/{files.master_path.name}"
    peaks_key = f"{prefix}/{files.peaks_path.name}"
    master = await store.put_file(master_key, files.master_path, content_type=content_type(master_key), consume=True)
    peaks = await store.put_file(peaks_key, files.peaks_path, content_type=content_type(peaks_key), consume=True)
    return {
        **files.to_info(),
        "sizeBytes": master.size_bytes + peaks.size_bytes,
        "format": source_format,
        "codec": source_codec,
        "audioUrl": media_url(master_key),
        "peaksUrl": media_url(peaks_key),
        "warnings": [warning.to_json() for warning in warnings],
        **extra,
    }
