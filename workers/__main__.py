"""``python -m workers``: the Procfile's worker process. ``--help`` lists every setting and its default."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from common.errors import AppError
from common.jobs import close_job_store
from workers.dispatch import load_handlers
from workers.settings import build_parser, settings_from_args
from workers.worker import Worker

logger = logging.getLogger("workers")


async def _serve(worker: Worker) -> None:
    try:
        await worker.run()
    finally:
        await close_job_store()
    if not worker.threads_ended:
        # The interpreter joins every pool thread at exit, and a handler thread that ignores cancellation may
        # never end; its job is settled already, so nothing is lost by not waiting.
        logger.warning("worker exiting with a handler thread still running")
        logging.shutdown()
        os._exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=str(args.log_level).upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        settings = settings_from_args(args)
        worker = Worker(settings, load_handlers(settings.handlers), handle_signals=True)
        asyncio.run(_serve(worker))
    except AppError as exc:
        logger.error("worker cannot run: %s", exc.message)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
