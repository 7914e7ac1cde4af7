"""The job handlers, by job type: thin async functions that run ``common.audio`` in a thread."""

from __future__ import annotations

from workers.handler_protocol import Handler
from workers.handlers.edit_preview import handle_edit_preview
from workers.handlers.edit_save import handle_edit_save
from workers.handlers.ingest import handle_ingest
from workers.handlers.render import handle_render

HANDLERS: dict[str, Handler] = {
    "ingest": handle_ingest,
    "edit.preview": handle_edit_preview,
    "edit.save": handle_edit_save,
    "render": handle_render,
}
