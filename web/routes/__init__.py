"""The API's routes, one module per resource; ``ROUTES`` is the whole table."""

from __future__ import annotations

from starlette.routing import BaseRoute

from web.routes import assets, edits, health, ingest, jobs, media, render

ROUTES: list[BaseRoute] = [
    *jobs.ROUTES,
    *ingest.ROUTES,
    *edits.ROUTES,
    *render.ROUTES,
    *assets.ROUTES,
    *media.ROUTES,
    *health.ROUTES,
]
