"""The editor page in Chromium against the real app: damage found in an imported file is shown beside the
recording, and a figure that cannot be measured says why instead of showing a number."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Page, expect

from tests.browser.page_actions import open_file, wait_for_version
from tests.browser.running_app import RunningApp
from tests.support.audio_samples import speech_like, write_audio, write_wav_pcm16

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Screenshot = Callable[[Page, str], Awaitable[Path]]

RATE = 16000
# The page shows a missing figure as an en dash.
DASH = "\u2013"
SHORT_REASON = "The audio is 2.0 s long, shorter than the 3 s window the loudness range is measured over."


def speech(seconds: float) -> np.ndarray:
    return np.concatenate(list(speech_like(seconds, rate=RATE, channels=1, peak_db=-6.0)))


async def test_a_cut_short_file_shows_its_damage_and_a_short_one_why_it_has_no_loudness_range(
    app: RunningApp, page: Page, screenshot: Screenshot, tmp_path: Path
) -> None:
    # The header promises 47:30; 12 s of samples follow.
    liar = write_wav_pcm16(tmp_path / "interview.wav", speech(12.0), rate=RATE, claimed_data_bytes=RATE * 2 * 2850)
    await page.goto(app.url)

    await open_file(page, liar)
    await wait_for_version(page, 1)

    warnings = page.locator("#source-warnings")
    await expect(warnings).to_be_visible()
    await expect(page.locator("#source-warning-list li")).to_have_text(
        ["The file ends early: decoding stopped at 0:12 of a declared 47:30; 0:12 of audio was recovered."]
    )
    await expect(page.locator("#source-warning-list li")).to_have_attribute("data-code", "truncated")
    await expect(page.locator("#fact-duration")).to_have_text("0:12.00")
    await expect(page.locator("#job-list")).to_contain_text("Done, from a damaged file: see the recording")
    await expect(page.locator("#unmeasured-note")).to_be_hidden()
    await screenshot(page, "damaged-import")

    short = write_audio(tmp_path / "sting.wav", speech(2.0), rate=RATE)
    await open_file(page, short)
    await expect(page.locator("#editor-heading")).to_have_text("sting", timeout=60_000)
    await wait_for_version(page, 1)

    await expect(warnings).to_be_hidden()
    await expect(page.locator("#fact-lra")).to_have_text(DASH)
    await expect(page.locator("#unmeasured-note")).to_have_text(f"Loudness range: {SHORT_REASON}")
    await expect(page.locator("#fact-lra")).to_have_attribute("title", SHORT_REASON)
    await screenshot(page, "short-import")
