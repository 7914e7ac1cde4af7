"""The editor's main states at desktop (1280x800) and phone (390x844) widths, saved as screenshots for people to
look at (``scripts/screenshots``). Each state is checked for what a screenshot would show wrong: a waveform not
drawn, a page that scrolls sideways, a download button wider than its card; and every state is checked by axe-core,
which must report no violation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.axe import axe_violations
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.page_actions import JOB_TIMEOUT_MS, open_file, type_selection, wait_for_version, waveform_pixels
from tests.browser.running_app import RunningApp
from tests.support.audio_samples import speech_like, write_audio

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Screenshot = Callable[[Page, str], Awaitable[Path]]

RATE = 44100


async def check_layout(page: Page, width: int) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
    assert await waveform_pixels(page) > 1000, "the waveform is not drawn"
    overflow = await page.evaluate(
        """() => {
            const link = document.getElementById("download-link");
            if (!link.checkVisibility()) return 0;
            const card = document.getElementById("render-card");
            return link.getBoundingClientRect().right - card.getBoundingClientRect().right;
        }"""
    )
    assert overflow <= 0, "the download button is wider than its card"


class AccessibilityLog:
    """axe-core's violations in each state checked, so one run reports every state's."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}
        self.checked: list[str] = []

    async def check(self, page: Page, state: str) -> None:
        self.checked.append(state)
        violations = await axe_violations(page)
        if violations:
            self.found[state] = violations


async def test_editor_main_states_at_desktop_and_phone_widths(
    app: RunningApp, browser: Browser, screenshot: Screenshot, tmp_path: Path
) -> None:
    axe = AccessibilityLog()
    source = write_audio(
        tmp_path / "Épisode 12 — a long conversation title.wav",
        speech_like(30.0, rate=RATE, channels=1, peak_db=-6.0),
        rate=RATE,
    )
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await page.goto(app.url)
    await screenshot(page, "desktop-01-empty")
    await axe.check(page, "desktop-01-empty")
    await open_file(page, source)
    await wait_for_version(page, 1)
    await check_layout(page, DESKTOP["width"])
    await screenshot(page, "desktop-02-loaded")
    await axe.check(page, "desktop-02-loaded")

    await type_selection(page, 4, 7.5)
    await page.click("#cut-button")
    await page.click("#selection-clear")
    await type_selection(page, 12, 18)
    await page.fill("#gain-db", "-6")
    await page.click("#gain-button")
    await page.click("#fade-in-button")
    await page.fill("#fade-out-seconds", "3")
    await page.click("#fade-out-button")
    await page.click("#selection-clear")
    await type_selection(page, 20, 24)
    await check_layout(page, DESKTOP["width"])
    await screenshot(page, "desktop-03-edits-and-selection")
    await axe.check(page, "desktop-03-edits-and-selection")

    await page.click("#zoom-selection")
    await screenshot(page, "desktop-04-zoomed")
    await axe.check(page, "desktop-04-zoomed")

    await page.select_option("#format-select", "mp3")
    await page.click("#render-button")
    await expect(page.locator("#download-link")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    await check_layout(page, DESKTOP["width"])
    await screenshot(page, "desktop-05-exported")
    await axe.check(page, "desktop-05-exported")

    await page.click("#selection-clear")
    await type_selection(page, 0, 30)
    await page.click("#cut-button")
    await expect(page.locator("#selection-message")).to_be_visible()
    await screenshot(page, "desktop-06-refused")
    await axe.check(page, "desktop-06-refused")

    await page.click("#selection-clear")
    await type_selection(page, 10, 12)
    await page.click("#cut-button")
    await page.click("#preview-button")
    await expect(page.locator("#preview-player")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    await screenshot(page, "desktop-07-preview")
    await axe.check(page, "desktop-07-preview")
    await page.locator("#library").scroll_into_view_if_needed()
    await axe.check(page, "desktop-08-library-and-jobs")
    asset_url = page.url
    await context.close()

    phone = await browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = await phone.new_page()
    await page.goto(asset_url)
    await wait_for_version(page, 1)
    await expect(page.locator("#export-list a")).to_have_count(1)
    await check_layout(page, PHONE["width"])
    folder = (await screenshot(page, "phone-01-loaded")).parent
    await axe.check(page, "phone-01-loaded")
    # What a phone shows before any scrolling: the waveform must be in it.
    await page.screenshot(path=str(folder / "phone-01-first-screen.png"))
    await type_selection(page, 4, 9)
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(folder / "phone-02-selected-first-screen.png"))
    await screenshot(page, "phone-02-selected")
    await axe.check(page, "phone-02-selected")
    await check_layout(page, PHONE["width"])
    await phone.close()
    assert axe.found == {}
    assert len(axe.checked) == 10
