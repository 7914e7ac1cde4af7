"""Deleting a recording from the page, in Chromium against the real app: the page asks in its own dialog (keeping
it is one click, and deletes nothing), then deletes it on the server and in the media store and goes back to the
library, where the other recording is still listed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from common.media_store import get_media_store
from tests.browser.page_actions import wait_for_version
from tests.browser.running_app import RunningApp
from tests.support.audio_samples import sine, write_audio

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Screenshot = Callable[[Page, str], Awaitable[Path]]


async def test_the_page_confirms_then_deletes_a_recording_and_returns_to_the_library(
    app: RunningApp, page: Page, screenshot: Screenshot, tmp_path: Path
) -> None:
    for name in ("kept", "doomed"):
        write_audio(tmp_path / f"{name}.wav", sine(2.0, rate=22050, channels=1), rate=22050)
    await page.goto(app.url)
    await page.set_input_files("#file-input", str(tmp_path / "kept.wav"))
    await wait_for_version(page, 1)
    await page.set_input_files("#file-input", str(tmp_path / "doomed.wav"))
    await expect(page.locator("#editor-heading")).to_have_text("doomed")
    await wait_for_version(page, 1)
    entries = page.locator("#library-list li")
    await expect(entries).to_have_count(2)
    asset_id = (await app.get_json("/api/audio/assets"))["assets"][0]["assetId"]
    await page.goto(f"{app.url}#/assets/{asset_id}")
    dialog = page.locator("#delete-dialog")

    await page.click("#delete-recording")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("“doomed”")
    await screenshot(page, "01-asked")
    await page.click("#delete-cancel")
    await expect(dialog).to_be_hidden()
    await expect(entries).to_have_count(2)
    assert (await app.get_json(f"/api/audio/assets/{asset_id}"))["assetId"] == asset_id

    await page.click("#delete-recording")
    await page.click("#delete-confirm")
    await expect(dialog).to_be_hidden()
    await expect(entries).to_have_count(1)
    await expect(entries.locator(".library-title")).to_have_text("kept")
    await expect(page.locator("#editor")).to_be_hidden()
    await expect(page.locator("#library-heading")).to_be_focused()
    assert await page.evaluate("location.hash") == ""
    await screenshot(page, "02-deleted")
    listed = (await app.get_json("/api/audio/assets"))["assets"]
    assert [entry["title"] for entry in listed] == ["kept"]
    media = await get_media_store()
    assert not [info.key async for info in media.list_objects("") if asset_id in info.key]

    await page.reload()
    await expect(entries).to_have_count(1)
    await expect(page.locator("#editor")).to_be_hidden()
