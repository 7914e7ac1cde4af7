"""Previews on a long recording: the page asks for edits in context, shows the excerpts it got, and plays them."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Page, expect

from tests.browser.axe import axe_violations
from tests.browser.page_actions import JOB_TIMEOUT_MS, open_file, type_selection, wait_for_version
from tests.browser.running_app import RunningApp

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RATE = 16000


def hour_wav(path: Path) -> Path:
    """One hour of 16 kHz mono 16-bit WAV whose level changes every second, written a minute at a time."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        for minute in range(60):
            t = np.arange(60 * RATE, dtype=np.float64) / RATE + 60 * minute
            level = 0.1 + 0.4 * ((np.floor(t) % 7) / 7)
            out.writeframes((level * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2").tobytes())
    return path


async def test_a_preview_of_an_hour_long_recording_plays_each_edit_in_context(
    app: RunningApp, page: Page, tmp_path: Path
) -> None:
    await page.goto(app.url)
    await open_file(page, hour_wav(tmp_path / "episode.wav"))
    await wait_for_version(page, 1)

    await type_selection(page, 600, 1200)
    await page.click("#cut-button")
    await expect(page.locator("#preview-whole")).not_to_be_checked()
    async with page.expect_response(lambda response: response.url.endswith("/api/audio/edit/preview")) as sent:
        await page.click("#preview-button")
    request = (await sent.value).request.post_data_json
    assert request["preview"] == "context"

    await expect(page.locator("#preview-player")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    await expect(page.locator("#preview-text")).to_contain_text("1 excerpt around the edits of the 50:00.0 edited")
    await expect(page.locator("#preview-segments li span")).to_have_text(
        ["9:57.0 to 10:03.0 of the edited recording, at 0:00.0 in the preview"]
    )
    # The player holds the excerpt (6 s), not the edited hour.
    duration = await page.locator("#preview-audio").evaluate(
        "(audio) => new Promise((done) => audio.readyState >= 1 ? done(audio.duration)"
        " : audio.addEventListener('loadedmetadata', () => done(audio.duration)))"
    )
    assert duration == pytest.approx(6.0, abs=0.1)
    assert await axe_violations(page) == []


async def test_each_excerpt_plays_before_and_after_its_edits(app: RunningApp, page: Page, tmp_path: Path) -> None:
    await page.goto(app.url)
    await open_file(page, hour_wav(tmp_path / "episode.wav"))
    await wait_for_version(page, 1)
    await type_selection(page, 600, 1200)
    await page.click("#cut-button")
    await page.click("#preview-button")
    await expect(page.locator("#preview-segments li")).to_have_count(1, timeout=JOB_TIMEOUT_MS)
    recording, preview = page.locator("#audio"), page.locator("#preview-audio")

    # "Before" plays the recording where the excerpt comes from: 3 s ahead of the cut, the cut minutes included.
    await page.get_by_role("button", name="Play excerpt 1 as the recording has it now, 9:57.0 to 20:03.0").click()
    await page.wait_for_function(
        "() => { const audio = document.getElementById('audio');"
        " return !audio.paused && audio.currentTime >= 596.9 && audio.currentTime < 603; }"
    )
    assert await preview.evaluate("(audio) => audio.paused")

    # "After" plays the excerpt in the preview, and the recording stops.
    await page.get_by_role("button", name="Play excerpt 1 of the preview, with the edits").click()
    await page.wait_for_function(
        "() => { const audio = document.getElementById('preview-audio');"
        " return !audio.paused && audio.currentTime > 0 && audio.currentTime < 6; }"
    )
    assert await recording.evaluate("(audio) => audio.paused")
    assert await axe_violations(page) == []
