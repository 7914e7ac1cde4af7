"""The editor page: ``GET /`` is ``web/static/index.html``, ``/static/...`` the files beside it."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from web.errors import not_found

STATIC_DIR = Path(__file__).resolve().parent / "static"

CONTENT_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".wasm": "application/wasm",
}


def register_content_types() -> None:
    """The system's mime.types may be missing or map ``.js`` to a type browsers refuse for modules."""
    for suffix, media_type in CONTENT_TYPES.items():
        mimetypes.add_type(media_type, suffix)


async def index(request: Request) -> Response:
    page = STATIC_DIR / "index.html"
    if not page.is_file():
        raise not_found("The editor page is not installed.")
    return FileResponse(page, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})


ROUTES = [
    Route("/", index, methods=["GET"]),
    Mount("/static", app=StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
]
