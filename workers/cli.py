"""``python -m workers jobs ...``: look at and repair jobs in the configured store (local or turso, chosen the way
every process chooses it, through ``get_job_store()``).

Exit codes: 0 done; 1 no such job, or the store refused the change (e.g. retrying a job that has not failed);
2 usage or configuration error; 3 the store could not be reached or failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any, TextIO

from common.jobs import Job, JobStatus, get_job_store
from common.jobs.poll import iso_utc
from common.media_cleanup import remove_jobs_files, remove_upload
from common.media_store import get_media_store
from workers.operator_command import EXIT_NO, EXIT_OK, run_operator_command

EXIT_REFUSED = EXIT_NO
DEFAULT_LIST_LIMIT = 50


class Refused(Exception):
    """The command cannot do what was asked (no such job, wrong status); the message says why."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workers jobs",
        description="Inspect and repair jobs in the configured job store.",
        epilog="Exit codes: 0 done, 1 no such job or refused, 2 usage or configuration, 3 store unavailable.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", help="recent jobs, newest first")
    listing.add_argument("--status", choices=[status.value for status in JobStatus])
    listing.add_argument("--type", dest="job_type", metavar="TYPE")
    listing.add_argument("--limit", type=_positive_int, default=DEFAULT_LIST_LIMIT)
    for name, text in (
        ("show", "the whole job as JSON, payload and error included"),
        ("retry", "queue a failed job again with a fresh attempt budget"),
        ("cancel", "cancel a queued or running job"),
    ):
        commands.add_parser(name, help=text).add_argument("job_id", metavar="JOB_ID")
    commands.add_parser("requeue-expired", help="give the jobs of lost workers (lapsed leases) back to the queue")
    prune = commands.add_parser("prune", help="delete finished jobs older than the given age, and their files")
    prune.add_argument("--older-than-days", type=_non_negative_float, required=True, metavar="DAYS")
    return parser


def _positive_int(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number of at least 1")
    return int(raw)


def _non_negative_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of at least 0")
    return value


def job_as_dict(job: Job) -> dict[str, Any]:
    """Every field of the job, times as ISO-8601 UTC."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return iso_utc(value)
        if isinstance(value, Enum):
            return value.value
        return value

    fields = dataclasses.asdict(job)
    return {name: plain(value) for name, value in fields.items()}


def _job_line(job: Job) -> str:
    error = f" error={job.error.code}" if job.error else ""
    return (
        f"{job.id}  {job.type:<13} {job.status.value:<9} {job.progress * 100:5.1f}%  "
        f"attempt {job.attempts}/{job.max_attempts}  created {iso_utc(job.created_at)}{error}"
    )


async def _job_or_refuse(job_id: str) -> Job:
    job = await (await get_job_store()).get_job(job_id)
    if job is None:
        raise Refused(f"no job with id {job_id!r}")
    return job


async def run_command(args: argparse.Namespace, out: TextIO) -> None:
    store = await get_job_store()
    command = args.command
    if command == "list":
        status = JobStatus(args.status) if args.status else None
        for job in await store.list_jobs(status=status, job_type=args.job_type, limit=args.limit):
            print(_job_line(job), file=out)
    elif command == "show":
        print(json.dumps(job_as_dict(await _job_or_refuse(args.job_id)), indent=2, ensure_ascii=False), file=out)
    elif command == "retry":
        job = await _job_or_refuse(args.job_id)
        retried = await store.retry_job(job.id)
        if retried is None:
            raise Refused(f"job {job.id} is {job.status.value}: only a failed job can be retried")
        print(f"job {retried.id} queued again (attempts reset, {retried.max_attempts} allowed)", file=out)
    elif command == "cancel":
        job = await _job_or_refuse(args.job_id)
        if job.status.is_terminal:
            raise Refused(f"job {job.id} is already {job.status.value}")
        cancelled = await store.cancel_job(job.id)
        if cancelled is None or cancelled.status is not JobStatus.CANCELLED:
            ended = cancelled.status.value if cancelled else "deleted"
            raise Refused(f"job {job.id} ended ({ended}) before it could be cancelled")
        # An ingest that ended never reads its upload again.
        await remove_upload(await get_media_store(), cancelled)
        print(f"job {job.id} cancelled", file=out)
    elif command == "requeue-expired":
        print(f"{await store.requeue_expired_jobs()} job(s) with a lapsed lease handed back", file=out)
    elif command == "prune":
        pruned = await store.prune_jobs(args.older_than_days * 86400)
        await remove_jobs_files(await get_media_store(), pruned)
        print(f"{len(pruned)} finished job(s) older than {args.older_than_days:g} day(s) deleted", file=out)


def main(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    args = build_parser().parse_args(argv)

    async def command() -> int:
        try:
            await run_command(args, out)
        except Refused as exc:
            print(f"refused: {exc}", file=err)
            return EXIT_REFUSED
        return EXIT_OK

    return run_operator_command(command, err)
