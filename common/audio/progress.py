"""Progress over several passes through the audio, reported as one fraction that never goes backwards, and the
stage of each pass.

The passes a job expects share ``0 .. 1 - EXTRA_PASS_SHARE``; a pass nobody expected (a render's correction)
takes half of what is left, so every pass moves the fraction on and it never sits near 1 while work remains.
"""

from __future__ import annotations

from collections.abc import Callable

from common.stages import JobStage

#: The part of the bar kept for passes beyond the expected ones.
EXTRA_PASS_SHARE = 0.1


class PassProgress:
    """``expected_passes`` is an estimate; ``report_stage`` hears the stage each pass names."""

    def __init__(
        self,
        report: Callable[[float], None],
        expected_passes: int,
        report_stage: Callable[[str], None] | None = None,
    ) -> None:
        self._report = report
        self._report_stage = report_stage
        self._expected = max(1, expected_passes)
        self._started = 0
        self._best = 0.0
        self._low = 0.0
        self._high = 0.0

    def start_pass(self, stage: JobStage | None = None) -> None:
        self._started += 1
        self._low = self._high
        if self._started <= self._expected:
            self._high = (1.0 - EXTRA_PASS_SHARE) * self._started / self._expected
        else:
            self._high = self._low + (1.0 - self._low) / 2
        if stage is not None and self._report_stage is not None:
            self._report_stage(stage.value)

    def __call__(self, fraction_of_pass: float) -> None:
        overall = self._low + (self._high - self._low) * min(max(fraction_of_pass, 0.0), 1.0)
        if overall > self._best:
            self._best = overall
            self._report(overall)
