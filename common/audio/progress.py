"""Progress over several passes through the audio, reported as one fraction that never goes backwards."""

from __future__ import annotations

from collections.abc import Callable


class PassProgress:
    """``expected_passes`` is an estimate: passes beyond it (a leveling correction) share the last stretch."""

    def __init__(self, report: Callable[[float], None], expected_passes: int) -> None:
        self._report = report
        self._expected = max(1, expected_passes)
        self._started = 0
        self._best = 0.0

    def start_pass(self) -> None:
        self._started += 1

    def __call__(self, fraction_of_pass: float) -> None:
        done = min(self._started, self._expected) - 1
        overall = (max(done, 0) + min(max(fraction_of_pass, 0.0), 1.0)) / self._expected
        overall = min(overall, 0.999)
        if overall > self._best:
            self._best = overall
            self._report(overall)
