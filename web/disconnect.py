"""Noticing that a request's client has gone (the page aborted its fetch, or the connection dropped), the ASGI way:
the server answers ``receive()`` with ``http.disconnect`` once the connection is closed, however far the handler
has got. Nothing else tells a handler: uvicorn quietly drops what it sends to a closed connection."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.types import Receive


async def client_gone(receive: Receive) -> None:
    """Returns when the client disconnects (a GET's body, already complete, is read and ignored first)."""
    while (await receive())["type"] != "http.disconnect":
        pass


@contextmanager
def disconnect_event(receive: Receive) -> Iterator[threading.Event]:
    """An event that is set once the client disconnects while the block runs, for work on a thread to look at
    between its steps. A plain task and callback rather than a task group: the block's own exceptions must reach
    the caller as they are, not in an exception group."""
    gone = threading.Event()

    def on_done(watch: asyncio.Future[None]) -> None:
        if not watch.cancelled() and watch.exception() is None:
            gone.set()

    watch = asyncio.ensure_future(client_gone(receive))
    watch.add_done_callback(on_done)
    try:
        yield gone
    finally:
        watch.cancel()
