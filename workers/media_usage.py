"""``python -m workers media-usage [--recount]``: the media store's account as ``/healthz`` shows it (bytes used,
free, ``MEDIA_MAX_BYTES``), and with ``--recount`` rebuilt from a listing of the whole store: once after upgrading
a deployment that held media before the account existed, or whenever it is in doubt (a process that died between
storing an object and recording it). Listing a bucket takes a request per 1,000 objects.

Exit codes: 0 done; 2 usage or configuration error; 3 a store could not be reached or failed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from common.jobs import get_job_store
from common.media_store import check_media_identity, get_media_store
from workers.operator_command import EXIT_OK, run_operator_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workers media-usage",
        description="Show the media store's used and free bytes; --recount rebuilds the account from a listing.",
        epilog="Exit codes: 0 done, 2 usage or configuration, 3 store unavailable.",
    )
    parser.add_argument("--recount", action="store_true", help="list every object and make the account match")
    return parser


def _amount(value: int | None) -> str:
    return "unknown" if value is None else f"{value} bytes"


async def run_command(args: argparse.Namespace, out: TextIO) -> None:
    media = await get_media_store()
    await check_media_identity(await get_job_store(), media)
    if args.recount:
        before = await media.used_bytes()
        after = await media.recount_usage()
        print(f"recounted {media.location}: {_amount(before)} before, {_amount(after)} now", file=out)
    print(f"used: {_amount(await media.used_bytes())}", file=out)
    print(f"free: {_amount(await media.free_bytes())}", file=out)
    limit = media.limit_bytes
    print(f"limit (MEDIA_MAX_BYTES): {'none' if limit is None else f'{limit} bytes'}", file=out)


def main(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = build_parser().parse_args(argv)

    async def command() -> int:
        await run_command(args, out)
        return EXIT_OK

    return run_operator_command(command, err)
