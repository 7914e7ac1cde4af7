"""Zoomed in to the maximum, the waveform shows each cycle: the page asks the server for the peaks of the span on
screen (decoded from the master) and draws them over the stored ones, which the first paint did not wait for. The
recording is long enough that one pixel per sample is wider than the widest scroll track the page makes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Page, expect

from tests.browser.axe import axe_violations
from tests.browser.page_actions import open_file, type_selection, wait_for_version
from tests.browser.running_app import RunningApp
from tests.support.audio_samples import write_audio

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RATE = 16000
DURATION_S = 600
TONE_HZ = 250.0


async def wave_tops(page: Page) -> list[int]:
    """Per column of the waveform canvas, the highest row drawn in the waveform's colours (-1 for none)."""
    return await page.evaluate(
        """() => {
            const canvas = document.getElementById("wave-canvas");
            const { data, width, height } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
            const rulerRows = Math.round(20 * (window.devicePixelRatio || 1));
            const tops = new Array(width).fill(-1);
            for (let x = 0; x < width; x += 1) {
                for (let y = rulerRows; y < height; y += 1) {
                    const i = 4 * (y * width + x);
                    // The waveform's teal (#2f7d78, its inner layer #1b4f4c): green well above red.
                    if (data[i + 1] > data[i] + 30) {
                        tops[x] = y;
                        break;
                    }
                }
            }
            return tops;
        }"""
    )


async def test_maximum_zoom_draws_each_cycle_from_the_spans_peaks(app: RunningApp, page: Page, tmp_path: Path) -> None:
    t = np.arange(DURATION_S * RATE) / RATE
    tone = (0.5 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)[:, np.newaxis]
    source = write_audio(tmp_path / "tone.flac", tone, rate=RATE, kind="flac")
    span_requests: list[str] = []
    page.on("request", lambda request: span_requests.append(request.url) if "/peaks?" in request.url else None)
    await page.goto(app.url)
    await open_file(page, source)
    await wait_for_version(page, 1)
    # The first paint asked for no span.
    assert span_requests == []

    await page.locator("#wave-canvas").scroll_into_view_if_needed()
    await type_selection(page, 300.0, 300.01)
    await page.click("#zoom-selection")
    # Further zooming stops at the maximum: one screen pixel per sample.
    await page.click("#zoom-in")
    await page.click("#selection-clear")
    canvas = page.locator("#wave-canvas")
    await expect(canvas).to_have_attribute("data-samples-per-pixel", "1")
    assert any("/versions/1/peaks?" in url and "samplesPerPixel=1" in url for url in span_requests)

    start, end = (float(value) for value in (await canvas.get_attribute("data-view") or "").split())
    assert 299.9 < start < 300.01 < end < 300.1
    width_px = await canvas.evaluate("(element) => element.clientWidth")
    assert (end - start) * RATE == pytest.approx(width_px, rel=0.01)
    tops = np.array(await wave_tops(page))
    drawn = tops[tops >= 0]
    assert len(drawn) > 0.9 * len(tops)
    # The top edge follows the tone up and down (blocks of stored peaks would draw it flat at the tone's peak)...
    assert drawn.max() - drawn.min() > 20
    # ...once per cycle of the tone shown.
    middle = (drawn.max() + drawn.min()) / 2
    rises = int(np.count_nonzero((drawn[:-1] > middle) & (drawn[1:] <= middle)))
    cycles = (end - start) * TONE_HZ
    assert abs(rises - cycles) <= 2

    assert await axe_violations(page) == []
