"""``python -m web``: serve the app with uvicorn on ``HOST`` (127.0.0.1) and ``PORT`` (8000; honcho sets it).

uvloop is used when installed; httptools (``uvicorn[standard]``) always, under ``web.http_limits``'s bounds on
request heads, header time, idle keep-alive and concurrent connections. Together they more than double the
requests per second of the pure-Python defaults. ``ACCESS_LOG=1`` turns on uvicorn's access log.
"""

from __future__ import annotations

import importlib.util
import os
from functools import partial
from typing import Any

import uvicorn

from common.logs import configure_logging
from web.http_limits import BoundedHttpToolsProtocol, ServerLimits

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


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


def main() -> None:
    configure_logging()
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=os.environ.get("HOST") or DEFAULT_HOST,
        port=int(os.environ.get("PORT") or DEFAULT_PORT),
        **uvicorn_options(),
    )


if __name__ == "__main__":
    main()
