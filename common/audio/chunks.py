"""The one shape of every step that audio streams through: ``consume(chunk)`` for each float32 chunk shaped
(frames, channels), then ``finish()`` once, which returns what the step made (a measurement, a document, the
result of the step it feeds). Meters, the peaks builder, writers, the limiter and the background runner all take
it, so a new processing step plugs in the same way and steps chain or run side by side.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

import numpy as np

Result = TypeVar("Result", covariant=True)
First = TypeVar("First")
Second = TypeVar("Second")


class ChunkConsumer(Protocol[Result]):
    def consume(self, chunk: np.ndarray) -> None: ...

    def finish(self) -> Result: ...


class Tee(Generic[First, Second]):
    """Hands every chunk to two consumers; ``finish`` returns both results."""

    def __init__(self, first: ChunkConsumer[First], second: ChunkConsumer[Second]) -> None:
        self._first = first
        self._second = second

    def consume(self, chunk: np.ndarray) -> None:
        self._first.consume(chunk)
        self._second.consume(chunk)

    def finish(self) -> tuple[First, Second]:
        return self._first.finish(), self._second.finish()
