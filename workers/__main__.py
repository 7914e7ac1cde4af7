"""``python -m workers``: the Procfile's worker process. ``--help`` lists every setting and its default."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from common.errors import AppError
from common.jobs import close_job_store, get_job_store
from common.media_store import check_media_identity, close_media_store, get_media_store
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
        # asyncio.run would wait for the default executor's threads, and a handler thread that ignores
        # cancellation may never end; its job is settled already, so nothing is lost by not waiting.
        logger.warning("worker exiting with a handler thread still running")
        logging.shutdown()
        os._exit(0)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=str(args.log_level).upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    try:
        check_scratch_root()
        worker = Worker(settings_from_args(args), handle_signals=True)
        asyncio.run(_serve(worker))
    except AppError as exc:
        logger.error("worker cannot run: %s", exc.message)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
