"""``python -m web``: serve the app with uvicorn on ``HOST`` (127.0.0.1) and ``PORT`` (8000; honcho sets it).

uvloop and httptools are used when installed (``uvicorn[standard]``): together they more than double the
requests per second of the pure-Python defaults. ``ACCESS_LOG=1`` turns on uvicorn's access log.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import uvicorn

from common.logs import configure_logging

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def uvicorn_options() -> dict[str, Any]:
    """The server settings, shared with ``bench/`` so a reference app runs under exactly the same ones."""
    return {
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "http": "httptools" if importlib.util.find_spec("httptools") else "h11",
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
