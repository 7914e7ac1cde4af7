"""Running a chunk consumer, or the decoder producing chunks, on its own thread, so FFmpeg and NumPy work that
releases the GIL (decoding, the loudness filter, an encoder, true-peak detection) overlaps. The queues are short,
so memory stays a few chunks whatever the duration."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from common.audio.chunks import ChunkConsumer

Result = TypeVar("Result")
QUEUE_CHUNKS = 4
_END = None
_CLOSE_POLL_S = 0.05


class BackgroundConsumer(Generic[Result]):
    """A chunk consumer that hands every chunk to ``consumer`` on a worker thread; ``finish`` waits for it and
    returns what ``consumer.finish()`` returned, or raises what either raised."""

    def __init__(self, consumer: ChunkConsumer[Result], name: str) -> None:
        self._consumer = consumer
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self._results: list[Result] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def consume(self, chunk: np.ndarray) -> None:
        if self._error is not None:
            self._raise()
        self._queue.put(chunk)

    def finish(self) -> Result:
        self._queue.put(_END)
        self._thread.join()
        if self._error is not None:
            self._raise()
        return self._results[0]

    def abandon(self) -> None:
        """Stop the thread without a result (the work is being abandoned)."""
        self._error = self._error or RuntimeError("abandoned")
        self._queue.put(_END)
        self._thread.join()

    def _run(self) -> None:
        try:
            while True:
                chunk = self._queue.get()
                if chunk is _END:
                    break
                if self._error is None:
                    self._consumer.consume(chunk)
            if self._error is None:
                self._results.append(self._consumer.finish())
        except BaseException as exc:  # re-raised on the caller's thread by finish()
            self._error = exc
            self._drain()

    def _drain(self) -> None:
        """Keep taking chunks after a failure so a producer blocked on a full queue is released."""
        while self._queue.get() is not _END:
            pass

    def _raise(self) -> None:
        error = self._error
        if error is not None:
            raise error


Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


class BackgroundIterator(Generic[Item]):
    """Runs ``items`` on a worker thread, up to ``QUEUE_CHUNKS`` items ahead of the consumer (decoding overlaps
    with the work on what was decoded). Iterate it; an exception raised by ``items`` is raised by ``next``.
    ``close`` stops the thread (items not taken are dropped) and closes ``items``; call it before closing what
    ``items`` reads."""

    def __init__(self, items: Iterator[Item], name: str) -> None:
        self._items = items
        self._queue: queue.Queue[Item | _Failed | None] = queue.Queue(maxsize=QUEUE_CHUNKS)
        self._stopped = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def __iter__(self) -> BackgroundIterator[Item]:
        return self

    def __next__(self) -> Item:
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if item is None:
            self._done = True
            raise StopIteration
        if isinstance(item, _Failed):
            self._done = True
            raise item.error
        return item

    def close(self) -> None:
        self._stopped.set()
        while self._thread.is_alive():
            # Taking items releases a producer blocked on the full queue, so it sees the stop.
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=_CLOSE_POLL_S)
        self._thread.join()
        self._done = True
        close = getattr(self._items, "close", None)
        if close is not None:
            close()

    def _run(self) -> None:
        try:
            for item in self._items:
                if self._stopped.is_set():
                    return
                self._queue.put(item)
            self._queue.put(_END)
        except BaseException as exc:  # re-raised on the consumer's thread by __next__
            self._queue.put(_Failed(exc))
