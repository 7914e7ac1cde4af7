"""Decoding on its own thread: items arrive in order, a decoder's error reaches the reader, and closing early stops
the thread (even one blocked on a full queue) and closes the iterator it ran."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from common.audio.background import QUEUE_CHUNKS, BackgroundIterator


def test_items_arrive_in_order_then_the_iteration_ends() -> None:
    assert list(BackgroundIterator(iter(range(100)), "test")) == list(range(100))


def test_an_error_of_the_iterator_is_raised_by_next_after_the_items_before_it() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("corrupt")

    items = BackgroundIterator(failing(), "test")

    assert next(items) == 1
    assert next(items) == 2
    with pytest.raises(ValueError, match="corrupt"):
        next(items)
    with pytest.raises(StopIteration):
        next(items)


def test_closing_early_stops_a_blocked_producer_and_closes_its_iterator() -> None:
    closed = threading.Event()
    produced = []

    def endless() -> Iterator[int]:
        try:
            count = 0
            while True:
                produced.append(count)
                yield count
                count += 1
        finally:
            closed.set()

    items = BackgroundIterator(endless(), "test")
    assert next(items) == 0

    items.close()

    assert closed.is_set()
    # Bounded read-ahead: the producer stopped at the full queue instead of running on.
    assert len(produced) <= QUEUE_CHUNKS + 3
    assert not any(thread.name == "test" for thread in threading.enumerate())
    with pytest.raises(StopIteration):
        next(items)
