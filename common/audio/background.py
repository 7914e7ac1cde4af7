"""Running a chunk consumer on its own thread, so FFmpeg and NumPy work that releases the GIL (the loudness
filter, an encoder, true-peak detection) overlaps with decoding. The queue is short, so memory stays a few chunks
whatever the duration."""

from __future__ import annotations

import queue
import threading
from typing import Generic, TypeVar

import numpy as np

from common.audio.chunks import ChunkConsumer

Result = TypeVar("Result")
QUEUE_CHUNKS = 4
_END = None


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
