"""Progress over several passes: each pass moves the bar on and names its stage, and an unexpected pass (a
render's correction) still moves it, never reaching 1 while work remains."""

from __future__ import annotations

from common.audio.progress import EXTRA_PASS_SHARE, PassProgress
from common.stages import JobStage


def _pass(progress: PassProgress, stage: JobStage) -> None:
    progress.start_pass(stage)
    for step in range(11):
        progress(step / 10)


def test_expected_passes_share_the_bar_and_name_their_stages() -> None:
    reported: list[float] = []
    stages: list[str] = []
    progress = PassProgress(reported.append, 2, stages.append)

    _pass(progress, JobStage.MEASURING)
    after_first = reported[-1]
    _pass(progress, JobStage.ENCODING)

    assert stages == ["measuring", "encoding"]
    assert reported == sorted(set(reported))
    assert after_first == (1 - EXTRA_PASS_SHARE) / 2
    assert reported[-1] == 1 - EXTRA_PASS_SHARE


def test_passes_beyond_the_expected_ones_keep_moving_and_stay_under_one() -> None:
    reported: list[float] = []
    stages: list[str] = []
    progress = PassProgress(reported.append, 1, stages.append)

    _pass(progress, JobStage.ENCODING)
    ends = [reported[-1]]
    for _ in range(3):
        before = len(reported)
        _pass(progress, JobStage.CORRECTING)
        # Every extra pass reports several new, higher values: it never sits still.
        assert len(reported) - before >= 10
        ends.append(reported[-1])

    assert stages == ["encoding", "correcting", "correcting", "correcting"]
    assert ends == sorted(ends)
    assert ends[-1] < 1.0
    assert reported == sorted(set(reported))
