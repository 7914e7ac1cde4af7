"""``python -m web``: serve the app with uvicorn on ``HOST`` (127.0.0.1) and ``PORT`` (8000; honcho sets it).

uvloop is used when installed; httptools (``uvicorn[standard]``) always, under ``web.http_limits``'s bounds on
request heads, header time, idle keep-alive and concurrent connections. Together they more than double the
requests per second of the pure-Python defaults. ``ACCESS_LOG=1`` turns on uvicorn's access log.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import os
from functools import partial
from typing import Any

import uvicorn

from common.logs import configure_logging
from web.http_limits import BoundedHttpToolsProtocol, ServerLimits, raise_open_file_limit

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: Container objects allocated (less those freed) between two collections of the youngest generation.
GC_YOUNG_OBJECTS = 10_000


def uvicorn_options() -> dict[str, Any]:
    """The server settings, shared with ``bench/`` so a reference app runs under exactly the same ones."""
    limits = ServerLimits.from_env()
    return {
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "http": partial(BoundedHttpToolsProtocol, limits=limits),
        "timeout_keep_alive": limits.keep_alive_timeout_s,
        "limit_concurrency": limits.max_connections,
        "access_log": os.environ.get("ACCESS_LOG", "") == "1",
        "proxy_headers": False,
        "log_config": None,
    }


def tune_garbage_collector() -> None:
    """What is imported now (the app's modules and libraries) lives as long as the process: frozen out of the
    collector's sight, a full collection costs what the requests in flight hold, not that. Waiting long-polls hold
    their objects for seconds, so a young generation of the default 700 objects is mostly live ones, traversed again
    at every collection: with 500 followers a tenth of the process's CPU went to the collector, and under half of
    that with collections every ``GC_YOUNG_OBJECTS``."""
    importlib.import_module("web.app")
    gc.freeze()
    gc.set_threshold(GC_YOUNG_OBJECTS, *gc.get_threshold()[1:])


def main() -> None:
    configure_logging()
    raise_open_file_limit(ServerLimits.from_env().max_connections)
    tune_garbage_collector()
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=os.environ.get("HOST") or DEFAULT_HOST,
        port=int(os.environ.get("PORT") or DEFAULT_PORT),
        **uvicorn_options(),
    )


if __name__ == "__main__":
    main()
