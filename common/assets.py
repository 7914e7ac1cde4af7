"""What a client sees of an asset version: the measurements and URLs the worker recorded in its ``info``, under
the job result's key names. The ``ingest`` / ``edit.save`` result and the asset route's versions both come from
here, so the two cannot drift apart."""

from __future__ import annotations

from typing import Any

from common.jobs import AssetVersion
from common.jobs.poll import iso_utc

# Every version has these (the ingest and edit.save result, less assetId and version).
VERSION_RESULT_KEYS = (
    "durationSec",
    "sampleRate",
    "channels",
    "format",
    "codec",
    "loudness",
    "audioUrl",
    "peaksUrl",
)
# Only a version saved from edits has these; the asset route answers them as null for the others.
EDIT_INFO_KEYS = ("baseVersion", "edits")


def version_result(version: AssetVersion) -> dict[str, Any]:
    """The ``ingest`` / ``edit.save`` job result for a recorded version."""
    return {
        "assetId": version.asset_id,
        "version": version.version,
        **{key: version.info[key] for key in VERSION_RESULT_KEYS},
    }


def version_view(version: AssetVersion) -> dict[str, Any]:
    """One entry of the asset route's ``versions``: the version, the job that made it, and what it holds."""
    return {
        "version": version.version,
        "jobId": version.job_id,
        "createdAt": iso_utc(version.created_at),
        **{key: version.info.get(key) for key in (*VERSION_RESULT_KEYS, *EDIT_INFO_KEYS)},
    }
