"""A running job's progress bar in the jobs panel, against a real web process and a real worker running a job whose
progress moves steadily (the test handlers' ``sleep``): the bar moves on between the job's updates, never backwards
and never to the end before the job ends, while the figure in words stays the one the job reported."""

from __future__ import annotations

import itertools
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from common.jobs import get_job_store
from tests.browser.axe import axe_violations
from tests.support.web_server import WebServer, running_web_server
from tests.support.worker_process import worker_processes

pytestmark = pytest.mark.browser

# The page finds a job started elsewhere within 5 s (its list's interval): the job runs on long after that.
JOB_SECONDS = 12.0
# The worker's schedule, shortened to fit the job: a first write 1 s after the claim, then one every 2 s.
WORKER_ARGS = ("--progress-first-s", "1", "--progress-interval-s", "2", "--poll-max-s", "0.2")

# Every animation frame: the bar's value, the figure it reads out and the row's status.
RECORD_FRAMES = """(jobId) => {
    window.barFrames = [];
    const row = () => document.querySelector(`#job-list li[data-job-id="${jobId}"]`);
    const record = () => {
        const bar = row()?.querySelector("progress");
        if (bar) window.barFrames.push([bar.value, bar.getAttribute("aria-valuetext"), row().dataset.status]);
        requestAnimationFrame(record);
    };
    record();
}"""


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[WebServer]:
    with running_web_server() as server, worker_processes(tmp_path) as start_worker:
        worker = start_worker(*WORKER_ARGS)
        worker.wait_for_log(" started: store backend", timeout_s=20)
        yield server


async def follow_a_running_job(page: Page, web: WebServer) -> tuple[str, list[list[Any]]]:
    """Start a steadily progressing job, watch its bar in the jobs panel until it ends; the frames recorded."""
    await page.goto(web.url("/"))
    await page.check("#jobs-show-all")
    job, _ = await (await get_job_store()).create_job("sleep", {"seconds": JOB_SECONDS})
    row = page.locator(f'#job-list li[data-job-id="{job.id}"]')
    await expect(row).to_have_attribute("data-status", "running", timeout=30_000)
    await page.evaluate(RECORD_FRAMES, job.id)
    await page.wait_for_timeout(3000)
    assert await axe_violations(page) == []
    await expect(row).to_have_attribute("data-status", "completed", timeout=30_000)
    frames: list[list[Any]] = await page.evaluate("window.barFrames")
    return job.id, [frame for frame in frames if frame[2] == "running"]


def percent(fraction: float) -> int:
    """The page's `Math.round` (halves up), not Python's `round` (halves to even: 0.785 would read 78, not 79)."""
    return math.floor(fraction * 100 + 0.5)


async def test_a_running_jobs_bar_moves_between_updates_and_never_back(page: Page, web: WebServer) -> None:
    _, frames = await follow_a_running_job(page, web)
    values = [value for value, _, _ in frames]
    assert len(values) > 30, frames
    assert all(later >= earlier for earlier, later in itertools.pairwise(values)), values
    assert max(values) < 1
    # Frames grouped by the reported figure: within one update's span the bar itself moved forward.
    spans = [[value for value, _, _ in group] for _, group in itertools.groupby(frames, key=lambda frame: frame[1])]
    assert any(max(span) - min(span) >= 0.01 for span in spans[1:-1]), spans
    # The figure read out is the one the job reported: the bar is at or ahead of it, never behind.
    assert all(value >= int(text.rstrip("%")) / 100 - 0.005 for value, text, _ in frames), frames


async def test_with_reduced_motion_the_bar_shows_only_the_reported_figure(page: Page, web: WebServer) -> None:
    await page.emulate_media(reduced_motion="reduce")
    _, frames = await follow_a_running_job(page, web)
    assert len(frames) > 30, frames
    assert all(percent(value) == int(text.rstrip("%")) for value, text, _ in frames), frames
