"""``python -m workers``: the Procfile's worker process. ``--help`` lists every setting and its default.

``python -m workers jobs ...`` is the operators' jobs command instead (``workers/cli.py``), ``python -m workers
media-gc`` the media garbage collector (``workers/media_gc.py``) and ``python -m workers media-usage [--recount]``
the media store's account (``workers/media_usage.py``)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from common.errors import AppError
from common.jobs import close_job_store, get_job_store
from common.logs import configure_logging, set_worker_id
from common.media_store import check_media_identity, close_media_store, get_media_store
from workers import cli, media_gc, media_usage
from workers.dispatch import load_handlers
from workers.scratch import check_scratch_root
from workers.settings import build_parser, settings_from_args
from workers.worker import Worker

logger = logging.getLogger("workers")


async def _serve(worker: Worker) -> None:
    try:
        await check_media_identity(await get_job_store(), await get_media_store())
        await worker.run()
    finally:
        await close_media_store()
        await close_job_store()
    if not worker.threads_ended:
        # The interpreter joins every pool thread at exit, and a handler thread that ignores cancellation may
        # never end; its job is settled already, so nothing is lost by not waiting.
        logger.warning("worker exiting with a handler thread still running")
        logging.shutdown()
        os._exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] == ["jobs"]:
        return cli.main(arguments[1:])
    if arguments[:1] == ["media-gc"]:
        return media_gc.main(arguments[1:])
    if arguments[:1] == ["media-usage"]:
        return media_usage.main(arguments[1:])
    args = build_parser().parse_args(arguments)
    try:
        configure_logging(args.log_level)
        check_scratch_root()
        settings = settings_from_args(args)
        worker = Worker(settings, load_handlers(settings.handlers), handle_signals=True)
        set_worker_id(worker.worker_id)
        asyncio.run(_serve(worker))
    except AppError as exc:
        logger.error("worker cannot run: %s", exc.message)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
