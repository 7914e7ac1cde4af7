"""What a client sees of an asset version: the measurements and URLs the worker recorded in its ``info``, under
the job result's key names. The ``ingest`` / ``edit.save`` result and the asset route's versions both come from
here, so the two cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass
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
    "warnings",
)
# What an ``edit.save`` result adds to the version's keys.
EDITED_RESULT_KEYS = ("timeSavedSec", "repairNotes")
# Only some versions have these (saved from edits; imported with KEEP_ORIGINALS); the asset route answers them as
# null for the others.
OPTIONAL_INFO_KEYS = ("baseVersion", "edits", *EDITED_RESULT_KEYS, "originalUrl")


@dataclass(frozen=True, slots=True)
class NewAssetVersion:
    """What an ``ingest`` or ``edit.save`` handler returns: the asset version its job makes. The worker records it
    with the job's fenced completion (``complete_job_with_asset_version``), in one transaction, so only the run
    that completes the job ever publishes its files; the store gives the version its number then."""

    asset_id: str
    info: dict[str, Any]

    def result(self) -> dict[str, Any]:
        """The ``ingest`` / ``edit.save`` job result, less ``version``, which the store adds on completion; an
        ``edit.save`` result also says how much time shortenPauses saved (``timeSavedSec``) and what its repairs
        did (``repairNotes``)."""
        edited = {key: self.info[key] for key in EDITED_RESULT_KEYS if key in self.info}
        return {"assetId": self.asset_id, **{key: _value(self.info, key) for key in VERSION_RESULT_KEYS}, **edited}


def version_view(version: AssetVersion) -> dict[str, Any]:
    """One entry of the asset route's ``versions``: the version, the job that made it, and what it holds."""
    return {
        "version": version.version,
        "jobId": version.job_id,
        "createdAt": iso_utc(version.created_at),
        **{key: _value(version.info, key) for key in (*VERSION_RESULT_KEYS, *OPTIONAL_INFO_KEYS)},
    }


def _value(info: dict[str, Any], key: str) -> Any:
    # Versions recorded before damage was reported have no ``warnings``: none were found then either.
    if key == "warnings":
        return info.get(key) or []
    return info.get(key)
