"""Failed sign-ins are limited per client address: ``MAX_FAILURES`` in any ``WINDOW_S``, then every attempt from
that address is answered 429 with ``Retry-After`` until the oldest failure leaves the window.

The count lives in the web process (one per process: with N processes a client gets up to N times the limit),
keyed by the address uvicorn reports, the direct peer: behind a proxy every client shares the proxy's address
unless uvicorn is told to trust its ``X-Forwarded-For``.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

MAX_FAILURES = 10
WINDOW_S = 60.0
#: Addresses remembered at most; beyond it the quietest are forgotten, so a flood of addresses cannot grow memory.
MAX_ADDRESSES = 10_000


class FailedSignIns:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float] | None:
        failures = self._failures.get(address)
        if failures is None:
            return None
        cutoff = self._clock() - WINDOW_S
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        return failures

    def retry_after_s(self, address: str) -> int | None:
        """Whole seconds until ``address`` may try again, or ``None`` when it may try now."""
        failures = self._recent(address)
        if failures is None or len(failures) < MAX_FAILURES:
            return None
        return max(1, math.ceil(failures[0] + WINDOW_S - self._clock()))

    def record_failure(self, address: str) -> None:
        failures = self._recent(address)
        if failures is None:
            if len(self._failures) >= MAX_ADDRESSES:
                quietest = min(self._failures, key=lambda known: self._failures[known][-1])
                del self._failures[quietest]
            failures = self._failures[address] = deque(maxlen=MAX_FAILURES)
        failures.append(self._clock())
