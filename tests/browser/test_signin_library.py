"""The page with ``API_TOKEN`` set, in Chromium against the real app: sign in, then upload, edit, save, export and
download through the session cookie alone (the waveform, ``<audio>`` and the download link included); the
library reopens and renames a recording, and its address survives a reload; sign-out ends the session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from common.ids import new_id
from tests.browser.axe import axe_violations
from tests.browser.conftest import DESKTOP
from tests.browser.page_actions import JOB_TIMEOUT_MS, decoded_duration_s, type_selection, wait_for_version
from tests.browser.running_app import RunningApp, running_app
from tests.support.audio_samples import speech_like, write_audio

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Screenshot = Callable[[Page, str], Awaitable[Path]]

RATE = 44100
SPEECH_S = 8.0
CUT_S = (2.0, 4.0)
EDITED_S = SPEECH_S - (CUT_S[1] - CUT_S[0])
MP3_TOLERANCE_S = 1152 / RATE
TOKEN = "page-token-" + new_id()
# Chromium reports every 4xx answer on the console; these are the ones this test asks for.
EXPECTED_CONSOLE = ("401 (Unauthorized)",)


@pytest.fixture
def signed_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningApp]:
    monkeypatch.setenv("API_TOKEN", TOKEN)
    with running_app(tmp_path) as running:
        yield running
        print(running.logs())


@pytest.fixture
async def signin_page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = await context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.endswith(EXPECTED_CONSOLE)
            else None
        ),
    )
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"the page logged errors: {errors}"


async def test_sign_in_then_upload_edit_render_download_and_use_the_library(
    signed_app: RunningApp, signin_page: Page, screenshot: Screenshot, tmp_path: Path
) -> None:
    page = signin_page
    source = write_audio(tmp_path / "episode.wav", speech_like(SPEECH_S, rate=RATE, channels=1), rate=RATE)
    await page.goto(signed_app.url)
    await expect(page.locator("#signin-form")).to_be_visible()
    await expect(page.locator("main.layout")).to_be_hidden()
    await expect(page.locator("#signout-button")).to_be_hidden()
    await page.fill("#signin-token", TOKEN + "-wrong")
    await page.click("#signin-button")
    await expect(page.locator("#signin-error")).to_contain_text("That is not the API token")
    await screenshot(page, "01-sign-in")
    assert await axe_violations(page) == []
    await page.fill("#signin-token", TOKEN)
    await page.click("#signin-button")
    await expect(page.locator("main.layout")).to_be_visible()
    await expect(page.locator("#signout-button")).to_be_visible()
    await expect(page.locator("#library-empty")).to_be_visible()
    assert await page.evaluate("document.cookie") == "", "the session cookie is readable by scripts"

    await page.set_input_files("#file-input", str(source))
    await wait_for_version(page, 1)
    await page.wait_for_function(f"Math.abs(document.getElementById('audio').duration - {SPEECH_S}) < 0.05")
    await type_selection(page, *CUT_S)
    await page.click("#cut-button")
    await page.click("#save-button")
    await wait_for_version(page, 2)
    await page.select_option("#format-select", "mp3")
    await page.click("#render-button")
    download_link = page.locator("#download-link")
    await expect(download_link).to_be_visible(timeout=JOB_TIMEOUT_MS)
    async with page.expect_download() as download_info:
        await download_link.click()
    download = await download_info.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert abs(decoded_duration_s(saved) - EDITED_S) <= MP3_TOLERANCE_S
    await screenshot(page, "02-rendered")
    assert await axe_violations(page) == []

    entry = page.locator("#library-list li")
    await expect(entry).to_have_count(1)
    await expect(entry).to_contain_text("2 versions")
    asset_id = await entry.get_attribute("data-asset-id")
    # The default title is the file name without its extension.
    await entry.get_by_role("button", name="Rename episode").click()
    await page.get_by_label("New title for episode").fill("  Episode   one ")
    await entry.get_by_role("button", name="Save").click()
    await expect(entry.locator(".library-title")).to_have_text("Episode one")
    await expect(page.locator("#editor-heading")).to_have_text("Episode one")
    await expect(page.locator("#tag-title")).to_have_value("Episode one")
    await screenshot(page, "03-renamed")
    assert await axe_violations(page) == []

    await page.goto(f"{signed_app.url}#/assets/{asset_id}")
    await page.reload()
    await wait_for_version(page, 2)
    await expect(page.locator("#editor-heading")).to_have_text("Episode one")
    await expect(page.locator("#library-list .library-title")).to_have_text("Episode one")

    await page.click("#signout-button")
    await expect(page.locator("#signin-form")).to_be_visible()
    status = await page.evaluate("fetch('/api/audio/jobs').then((response) => response.status)")
    assert status == 401
