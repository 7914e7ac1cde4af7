"""The editor page offers every enhance operation with the server's defaults, previews them, reports the time
shortened pauses saved, and exports with a custom loudness target showing the compliance report."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Page, expect

from common.edits import OPERATIONS
from tests.browser.page_actions import JOB_TIMEOUT_MS, open_file, wait_for_version
from tests.browser.running_app import RunningApp
from tests.support.audio_samples import write_audio
from tests.support.speech_signals import speech_layout, white_noise

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RATE = 44100


def noisy_talk(folder: Path) -> Path:
    layout = speech_layout(RATE, [(2.0, -20.0)] * 3, [0.5, 2.5, 2.0, 0.5])
    noisy = layout.signal + white_noise(len(layout.signal), -55.0)
    return write_audio(folder / "talk.wav", noisy[:, np.newaxis].astype(np.float32), rate=RATE)


async def test_enhance_operations_come_with_their_defaults_and_preview(
    app: RunningApp, page: Page, tmp_path: Path
) -> None:
    await page.goto(app.url)
    await open_file(page, noisy_talk(tmp_path))
    await wait_for_version(page, 1)
    await page.click("#enhance-panel summary")

    enhance = [name for name, operation in OPERATIONS.items() if operation.kind == "enhance"]
    for name in enhance:
        await expect(page.locator(f"#enhance-{name}-button")).to_be_visible()
        for rule in OPERATIONS[name].fields:
            await expect(page.locator(f"#enhance-{name}-{rule.name}")).to_have_value(re.compile(rf"^{rule.default:g}$"))
    await expect(page.locator("#enhance-dehum-frequency option")).to_have_text(["Find it", "50 Hz", "60 Hz"])

    await page.fill("#enhance-denoise-reductionDb", "90")
    await page.click("#enhance-denoise-button")
    await expect(page.locator("#tools-message")).to_contain_text("from 3 to 40")
    await page.fill("#enhance-denoise-reductionDb", "20")
    await page.click("#enhance-denoise-button")
    await page.click("#enhance-shortenPauses-button")
    await expect(page.locator("#edit-list li")).to_have_text(
        [re.compile("Denoise by up to 20"), re.compile("Shorten pauses over 1.00 s to 0.50 s")]
    )

    await page.click("#preview-button")
    await expect(page.locator("#preview-text")).to_contain_text("Shorter pauses saved 0:03.5", timeout=JOB_TIMEOUT_MS)

    await page.select_option("#preset-select", "custom")
    await expect(page.locator("#custom-targets")).to_be_visible()
    await page.fill("#target-lufs", "-18")
    await page.fill("#target-peak", "-2")
    await page.select_option("#format-select", "wav")
    await page.click("#render-button")
    await expect(page.locator("#download-link")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    report = page.locator("#render-compliance li")
    await expect(report.filter(has_text="Integrated loudness")).to_contain_text("(-18.5 to -17.5) ✓ pass")
    await expect(report.filter(has_text="True peak")).to_contain_text("(at most -2) ✓ pass")


async def test_a_dehum_that_finds_no_hum_says_so_beside_the_preview_and_the_saved_version(
    app: RunningApp, page: Page, tmp_path: Path
) -> None:
    await page.goto(app.url)
    await open_file(page, noisy_talk(tmp_path))
    await wait_for_version(page, 1)
    await expect(page.locator("#repair-notes")).to_be_hidden()
    await page.click("#enhance-panel summary")
    await page.click("#enhance-dehum-button")

    await page.click("#preview-button")
    preview_note = page.locator("#preview-note-list li")
    await expect(preview_note).to_have_attribute("data-code", "no_hum_found", timeout=JOB_TIMEOUT_MS)
    await expect(preview_note).to_contain_text("No 50 Hz or 60 Hz mains hum was found")

    await page.click("#save-button")
    await wait_for_version(page, 2)
    version_note = page.locator("#repair-note-list li")
    await expect(version_note).to_have_attribute("data-code", "no_hum_found")
    await expect(page.locator("#repair-notes")).to_be_visible()
    # The imported version had no repairs: its notes go when it is shown again.
    await page.select_option("#version-select", "1")
    await expect(page.locator("#repair-notes")).to_be_hidden()
