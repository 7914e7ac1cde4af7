"""The API's routes, one module per resource; ``ROUTES`` is the whole table and ``PATHS`` its documentation
(each module's OpenAPI path items, declared beside its routes)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from web.api_docs import PathItems
from web.routes import assets, edits, health, ingest, jobs, library, media, peaks, render, session

_MODULES = (jobs, ingest, edits, render, library, assets, peaks, media, health, session)

ROUTES: list[BaseRoute] = [route for module in _MODULES for route in module.ROUTES]
PATHS: PathItems = {path: item for module in _MODULES for path, item in module.PATHS.items()}
