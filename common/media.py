"""The layout of media keys in the media store and their public ``/media/<key>`` URLs: the one place that knows it.

Uploads are ``uploads/<uploadId>``. Every run of a job writes under a prefix of its own, named from the run's lease
token, below the job's prefix: ``assets/<assetId>/<jobId>/<run>/``, ``previews/<jobId>/<run>/``,
``renders/<jobId>/<run>/``. Two runs of one job (a worker frozen past its lease and the worker that ran the job
again) therefore never write or remove each other's objects; a run's objects reach clients only through the job's
fenced completion, which names them. An ingest run may keep the upload as ``original.<ext>`` in its run prefix
(``KEEP_ORIGINALS``). Keys follow ``common.media_store.keys``, so they mean the same object on every
backend.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from common.ids import is_valid_id
from common.media_store import InvalidMediaKey, validate_key

MEDIA_URL_PREFIX = "/media/"
#: Hex digits of a run's prefix: 128 bits, as many as an id.
_RUN_NAME_CHARS = 32
#: The top-level prefixes ``/media/`` serves: masters and peaks, previews, renders. Never ``uploads``.
SERVED_TOP_PREFIXES = frozenset({"assets", "previews", "renders"})
#: Every top-level prefix the application writes under; nothing else in a store or bucket is its to remove.
APP_TOP_PREFIXES = SERVED_TOP_PREFIXES | {"uploads"}
CONTENT_TYPES = {
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".mp4": "audio/mp4",
    ".aac": "audio/aac",
    ".opus": "audio/ogg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".wav": "audio/wav",
    ".webm": "audio/webm",
    ".json": "application/json",
}


def upload_key(upload_id: str) -> str:
    """Where the web streams an upload; the client's filename is never part of it."""
    return f"uploads/{upload_id}"


def ingest_upload_key(job_type: str, payload: dict[str, Any]) -> str | None:
    """The upload an ``ingest`` job reads, or ``None`` for any other job (or a payload without a valid upload id)."""
    upload_id = payload.get("uploadId")
    if job_type != "ingest" or not isinstance(upload_id, str) or not is_valid_id(upload_id):
        return None
    return upload_key(upload_id)


def original_key(run_prefix: str, filename: str) -> str:
    """Where an ingest run keeps the upload as the asset's downloadable original (``KEEP_ORIGINALS``): named
    ``original`` with the client's extension when it is a plain one, so it is served with its media type."""
    _, dot, extension = filename.rpartition(".")
    plain = dot and extension.isascii() and extension.isalnum() and len(extension) <= 5
    suffix = f".{extension.lower()}" if plain else ""
    return f"{run_prefix}/original{suffix}"


def asset_prefix(asset_id: str) -> str:
    """Every version of an asset lies below this prefix."""
    return f"assets/{asset_id}"


def run_name(lease_token: str) -> str:
    """A run's prefix name: a digest of its lease token, so the token itself never appears in a public URL."""
    return hashlib.sha256(lease_token.encode()).hexdigest()[:_RUN_NAME_CHARS]


def asset_job_prefix(asset_id: str, job_id: str) -> str:
    """The prefix of an ingest or edit-save job's runs, each writing one version of an asset (master, peaks)."""
    return f"{asset_prefix(asset_id)}/{job_id}"


def preview_prefix(job_id: str) -> str:
    """The prefix of an edit-preview job's runs."""
    return f"previews/{job_id}"


def render_prefix(job_id: str) -> str:
    """The prefix of a render job's runs."""
    return f"renders/{job_id}"


def asset_run_prefix(asset_id: str, job_id: str, lease_token: str) -> str:
    return f"{asset_job_prefix(asset_id, job_id)}/{run_name(lease_token)}"


def preview_run_prefix(job_id: str, lease_token: str) -> str:
    return f"{preview_prefix(job_id)}/{run_name(lease_token)}"


def render_run_prefix(job_id: str, lease_token: str) -> str:
    return f"{render_prefix(job_id)}/{run_name(lease_token)}"


def job_prefixes(asset_id: str | None, job_id: str) -> list[str]:
    """The prefixes below which a job's runs write, one run prefix each."""
    prefixes = [preview_prefix(job_id), render_prefix(job_id)]
    if asset_id:
        prefixes.append(asset_job_prefix(asset_id, job_id))
    return prefixes


def run_output_prefixes(asset_id: str | None, job_id: str, lease_token: str) -> list[str]:
    """Every prefix one run of a job may write under: the only ones that run may remove while the job is not
    terminal."""
    return [f"{prefix}/{run_name(lease_token)}" for prefix in job_prefixes(asset_id, job_id)]


def run_prefix_of(key: str, job_prefix: str) -> str | None:
    """The run prefix (``<job prefix>/<run>``) ``key`` lies under, or ``None`` when it is not below ``job_prefix``."""
    if not key.startswith(job_prefix + "/"):
        return None
    run = key.removeprefix(job_prefix + "/").split("/", 1)[0]
    return f"{job_prefix}/{run}"


def published_keys(result: Any) -> set[str]:
    """The keys a job result names by ``/media/...`` URL (at any depth)."""
    keys: set[str] = set()
    for text in _strings(result):
        key = key_of_media_url(text)
        if key is not None:
            keys.add(key)
    return keys


def version_run_prefixes(asset_id: str, job_id: str, info: Any) -> set[str]:
    """The run prefixes holding the files a version's ``info`` names (master, peaks, a kept original): only
    those below the prefix of the job that made it, so nothing else can be reached from a version."""
    prefix = asset_job_prefix(asset_id, job_id)
    runs = {run_prefix_of(key, prefix) for key in published_keys(info)}
    return {run for run in runs if run is not None}


def holds_any(prefix: str, keys: Iterable[str]) -> bool:
    """True when one of ``keys`` lies below ``prefix``."""
    return any(key.startswith(prefix + "/") for key in keys)


def media_url(key: str) -> str:
    """The public URL of the object ``key``."""
    return MEDIA_URL_PREFIX + validate_key(key)


def key_of_media_url(url: str) -> str | None:
    """The key a ``/media/<key>`` URL names, or ``None`` when ``url`` is not one or names no valid key."""
    if not url.startswith(MEDIA_URL_PREFIX):
        return None
    return normalised_key(url.removeprefix(MEDIA_URL_PREFIX))


def normalised_key(relative: str) -> str | None:
    """``relative`` as a media key, or ``None`` when it is not a valid one (``.``/``..``/empty segments, a
    backslash, NUL or control character: no spelling of another key is accepted)."""
    try:
        return validate_key(relative)
    except InvalidMediaKey:
        return None


def served_key(relative: str) -> str | None:
    """The key ``/media/<relative>`` may serve: a valid key below one of ``SERVED_TOP_PREFIXES``, else ``None``."""
    key = normalised_key(relative)
    if key is None or "/" not in key or key.split("/", 1)[0] not in SERVED_TOP_PREFIXES:
        return None
    return key


def file_name(key: str) -> str:
    """The last segment of ``key``: the name a downloaded file is saved under."""
    return key.rsplit("/", 1)[-1]


def content_type(key: str) -> str:
    """The media type ``key`` is stored and served as, from its extension."""
    name = file_name(key)
    extension = name[name.rfind(".") :].lower() if "." in name else ""
    return CONTENT_TYPES.get(extension, "application/octet-stream")


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
