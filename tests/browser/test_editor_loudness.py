"""The loudness strip under the waveform: short-term loudness over the span shown, with the export preset's
target as a line, from the values stored with the peaks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Page, expect

from tests.browser.axe import axe_violations
from tests.browser.page_actions import open_file, wait_for_version
from tests.browser.running_app import RunningApp
from tests.support.audio_samples import speech_like, write_audio

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RATE = 44100


async def strip_heights(page: Page) -> list[int]:
    """How many rows of each column of the strip are drawn in its fill colour (the loudness bar's height)."""
    return await page.evaluate(
        """() => {
            const canvas = document.getElementById("loudness-strip");
            const { data, width, height } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
            const heights = new Array(width).fill(0);
            for (let y = 0; y < height; y += 1) {
                for (let x = 0; x < width; x += 1) {
                    const i = 4 * (y * width + x);
                    // The fill (#7a5aa6): red and blue well above green.
                    if (data[i + 2] > data[i + 1] + 40 && data[i] > data[i + 1] + 20) heights[x] += 1;
                }
            }
            return heights;
        }"""
    )


async def test_the_strip_shows_loud_and_quiet_passages_and_the_presets_target(
    app: RunningApp, page: Page, tmp_path: Path
) -> None:
    loud = np.concatenate(list(speech_like(15.0, rate=RATE, channels=1, peak_db=-3.0)))
    # Fifteen seconds of speech, then the same 20 dB quieter.
    source = write_audio(tmp_path / "talk.wav", np.concatenate([loud, loud * 0.1]), rate=RATE)
    await page.goto(app.url)
    await open_file(page, source)
    await wait_for_version(page, 1)

    strip = page.locator("#loudness-strip")
    await expect(strip).to_be_visible()
    await expect(strip).to_have_attribute("data-values", str(int(30 / 0.5)))
    await page.select_option("#preset-select", "podcast")
    await expect(strip).to_have_attribute("data-target", "-16")
    await expect(page.locator("#loudness-strip-caption")).to_contain_text("target")
    heights = await strip_heights(page)
    width = len(heights)
    loud_part = np.median(heights[width // 10 : 4 * width // 10])
    quiet_part = np.median(heights[6 * width // 10 : 9 * width // 10])
    assert loud_part > quiet_part + 5
    assert quiet_part > 0

    # Zoomed into the quiet half, the strip follows the waveform's view.
    await page.fill("#selection-start", "20")
    await page.fill("#selection-end", "25")
    await page.press("#selection-end", "Enter")
    wave = page.locator("#wave-canvas")
    whole_view = await wave.get_attribute("data-view")
    await page.click("#zoom-selection")
    # The view changes on the next frame after the click: read it once it has.
    await expect(wave).not_to_have_attribute("data-view", whole_view or "")
    view = await wave.get_attribute("data-view")
    await expect(strip).to_have_attribute("data-view", view or "")
    assert await axe_violations(page) == []
