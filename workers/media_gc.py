"""``python -m workers media-gc [--dry-run]``: find (and remove) the files or objects nothing refers to.

Only the application's own top-level prefixes (``uploads``, ``assets``, ``previews``, ``renders``) are looked at, and
only when the media store is the one the job store is used with (``media_store_mismatch`` otherwise). A file is
referenced when an asset version names it (master, peaks, a kept original), a job's result names it
(renders, previews, the versions ingest and edit.save made), or it lies where a queued or running job reads or
writes (an ingest's upload, the job's run prefixes). Anything else older than ``--min-age-s`` (an hour by
default, so an upload still arriving or a file a job is about to name is never touched) is an orphan: left by a
process that died between a store change and its file clean-up, or by a store row removed some other way.

The store is read first, the media listed after: an object created after that read is younger than the minimum
age. Exit codes: 0 nothing to remove, or everything found removed; 1 ``--dry-run`` found orphans (nothing
removed), or a removal failed; 2 usage or configuration error; 3 the job or media store could not be reached.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO

from common.ids import is_valid_id
from common.jobs import MediaReferences, get_job_store
from common.media import APP_TOP_PREFIXES, holds_any, ingest_upload_key, job_prefixes, published_keys
from common.media_store import (
    MediaStore,
    MediaStoreError,
    ObjectInfo,
    check_media_identity,
    get_media_store,
)
from workers.operator_command import EXIT_NO, EXIT_OK, run_operator_command

EXIT_FOUND = EXIT_NO
DEFAULT_MIN_AGE_S = 3600.0


@dataclass(frozen=True)
class References:
    """What the job store refers to: whole keys, and the prefixes live jobs write under."""

    keys: frozenset[str]
    live_prefixes: tuple[str, ...]

    def refer_to(self, key: str) -> bool:
        return key in self.keys or any(holds_any(prefix, (key,)) for prefix in self.live_prefixes)


def references(refs: MediaReferences) -> References:
    keys: set[str] = set()
    live_prefixes: list[str] = []
    for version in refs.versions:
        keys |= published_keys(version.info)
    for job in refs.jobs:
        keys |= published_keys(job.result)
        if job.status.is_terminal:
            continue
        asset_id = job.payload.get("assetId")
        live_prefixes += job_prefixes(asset_id if isinstance(asset_id, str) and is_valid_id(asset_id) else None, job.id)
        upload = ingest_upload_key(job.type, job.payload)
        if upload is not None:
            keys.add(upload)
    return References(frozenset(keys), tuple(live_prefixes))


async def find_orphans(media: MediaStore, refs: References, min_age_s: float) -> list[ObjectInfo]:
    """The objects ``refs`` does not refer to and that are older than ``min_age_s``, by key."""
    cutoff = datetime.now(UTC) - timedelta(seconds=min_age_s)
    orphans = []
    for top in sorted(APP_TOP_PREFIXES):
        async for info in media.list_objects(top):
            if info.modified_at <= cutoff and not refs.refer_to(info.key):
                orphans.append(info)
    return sorted(orphans, key=lambda info: info.key)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workers media-gc",
        description="List and remove media files or objects that no asset, version, render or live job refers to.",
        epilog="Exit codes: 0 nothing left to remove, 1 orphans found by --dry-run (or a removal failed), "
        "2 usage or configuration, 3 store unavailable.",
    )
    parser.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    parser.add_argument(
        "--min-age-s",
        type=_non_negative_float,
        default=DEFAULT_MIN_AGE_S,
        metavar="SECONDS",
        help=f"leave files younger than this alone (default: {DEFAULT_MIN_AGE_S:g})",
    )
    return parser


def _non_negative_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of seconds of at least 0")
    return value


async def collect(args: argparse.Namespace, out: TextIO) -> int:
    store = await get_job_store()
    media = await get_media_store()
    # Against another store's media every file would look like an orphan.
    await check_media_identity(store, media)
    refs = references(await store.get_media_references())
    orphans = await find_orphans(media, refs, args.min_age_s)
    failed = 0
    for info in orphans:
        if args.dry_run:
            print(f"orphan {info.key} {info.size_bytes} bytes", file=out)
            continue
        try:
            await media.delete(info.key)
        except MediaStoreError as exc:
            failed += 1
            print(f"not removed {info.key}: {exc.message}", file=out)
            continue
        print(f"removed {info.key} {info.size_bytes} bytes", file=out)
    total = sum(info.size_bytes for info in orphans)
    verb = "found" if args.dry_run else "removed"
    print(f"{len(orphans) - failed} orphan(s) {verb}, {total} bytes", file=out)
    if failed or (args.dry_run and orphans):
        return EXIT_FOUND
    return EXIT_OK


def main(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = build_parser().parse_args(argv)
    return run_operator_command(lambda: collect(args, out), err)
