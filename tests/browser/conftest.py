"""Fixtures for the browser tests: the real app (``python -m web`` and ``python -m workers`` with the real
handlers, on the test's own store and MEDIA_ROOT), Debian's Chromium driven by Playwright, and a screenshot folder.

Screenshots go to ``test-artifacts/screenshots/<test name>/`` under the project root (``SCREENSHOT_DIR`` overrides
the root folder); they are for people to look at and are not committed.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from common.config import PROJECT_ROOT
from tests.browser.running_app import RunningApp, running_app

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[RunningApp]:
    with running_app(tmp_path) as running:
        yield running
        # Shown by pytest only when the test failed.
        print(running.logs())


# Playwright's async API: its sync API runs an event loop of its own, which the async fixtures cannot share.
@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def _new_page(browser: Browser, viewport: dict[str, int]) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=viewport, accept_downloads=True)
    page = await context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"the page logged errors: {errors}"


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A desktop-sized page (1280x800); fails the test if the page's scripts raise or log an error."""
    async for new_page in _new_page(browser, DESKTOP):
        yield new_page


@pytest.fixture
async def phone_page(browser: Browser) -> AsyncIterator[Page]:
    """A phone-sized page (390x844)."""
    async for new_page in _new_page(browser, PHONE):
        yield new_page


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Awaitable[Path]]:
    """``await screenshot(page, "name")`` saves a full-page PNG under the test's screenshot folder."""
    root = Path(os.environ.get("SCREENSHOT_DIR") or PROJECT_ROOT / "test-artifacts" / "screenshots")
    folder = root / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)

    async def take(page: Page, name: str) -> Path:
        path = folder / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path

    return take
