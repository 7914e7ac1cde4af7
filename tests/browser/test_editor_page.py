"""The editor page in Chromium against the real app: a web process and a worker running the real handlers.

Each test asserts on what the page shows and on the files the app produced, and saves screenshots of the states
it passes through (see conftest.py for where).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.page_actions import (
    JOB_TIMEOUT_MS,
    click_waveform,
    decoded_duration_s,
    drag_across,
    drop_file,
    open_file,
    selection_inputs,
    type_selection,
    unlabelled_controls,
    wait_for_version,
    waveform_image,
    waveform_pixels,
)
from tests.browser.running_app import RunningApp
from tests.support.audio_samples import speech_like, write_audio, write_text
from tests.support.media_files import render_dir

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Screenshot = Callable[[Page, str], Awaitable[Path]]

RATE = 44100
SPEECH_S = 12.0
CUT_START_S = 3.0
CUT_END_S = 6.0
EDITED_S = SPEECH_S - (CUT_END_S - CUT_START_S)
# Long enough that its export is still running when the page has shown it and the test clicks Cancel.
LONG_S = 300.0
UPLOAD_BYTES_PER_S = 16 * 1024 * 1024
# The page writes spans with an en dash and negative figures with a minus sign, as typeset text does.
DASH = "\u2013"
MINUS = "\u2212"
# MP3 frames are 1152 samples; a decoder that honours the encoder's delay and padding lands within one frame.
MP3_TOLERANCE_S = 1152 / RATE


def speech_wav(folder: Path, seconds: float = SPEECH_S) -> Path:
    return write_audio(folder / "interview.wav", speech_like(seconds, rate=RATE, channels=1, peak_db=-6.0), rate=RATE)


def holds_files(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


async def test_upload_edit_preview_save_render_and_download(
    app: RunningApp, page: Page, screenshot: Screenshot, tmp_path: Path
) -> None:
    source = speech_wav(tmp_path)
    await page.goto(app.url)
    await expect(page.locator("#job-list-empty")).to_be_visible()
    await screenshot(page, "01-empty")

    await open_file(page, source)
    await wait_for_version(page, 1)
    await expect(page.locator("#editor-heading")).to_have_text("interview")
    await expect(page.locator("#fact-duration")).to_have_text("0:12.00")
    await expect(page.locator("#fact-format")).to_contain_text("44.1 kHz, mono")
    asset_id = await page.evaluate("new URLSearchParams(location.hash.slice(1)).get('asset')")
    asset = await app.get_json(f"/api/audio/assets/{asset_id}")
    loudness = asset["versions"][0]["loudness"]
    await expect(page.locator("#fact-lufs")).to_have_text(f"{loudness['integratedLufs']:.1f} LUFS".replace("-", MINUS))
    podcast_met = abs(loudness["integratedLufs"] + 16) <= 1 and loudness["truePeakDbtp"] <= -1
    expected_note = f"The recording {'meets the Podcast loudness' if podcast_met else 'misses the Podcast'} target"
    await expect(page.locator("#target-note")).to_contain_text(expected_note)
    assert await waveform_pixels(page) > 2000, "the waveform is not drawn"
    assert await unlabelled_controls(page) == []
    original_waveform = await waveform_image(page)
    await screenshot(page, "02-loaded")

    await click_waveform(page, 0.5)
    await expect(page.locator("#time-display")).to_have_text(re.compile(r"^0:06\.0 / 0:12\.0$"))

    # Space plays and pauses; the playhead (and the time shown) follows playback.
    await page.locator("#wave-canvas").focus()
    await page.keyboard.press("Space")
    await expect(page.locator("#play-button")).to_have_text("Pause")
    await page.wait_for_function("document.getElementById('audio').currentTime > 0.5")
    await page.keyboard.press("Space")
    await expect(page.locator("#play-button")).to_have_text("Play")
    await expect(page.locator("#time-display")).not_to_have_text(re.compile(r"^0:00\.0 /"))

    # Zoom in and out, then drag across the waveform to select about 3 s to 6 s.
    await page.click("#zoom-in")
    await page.click("#zoom-fit")
    await drag_across(page, 0.25, 0.5)
    await expect(page.locator("#selection-text")).to_contain_text("Selected")
    start_s, end_s = await selection_inputs(page)
    assert abs(start_s - CUT_START_S) < 0.3
    assert abs(end_s - CUT_END_S) < 0.3
    await type_selection(page, CUT_START_S, CUT_END_S)
    await expect(page.locator("#selection-text")).to_have_text(f"Selected 0:03.00 {DASH} 0:06.00 (3.00 s)")
    await screenshot(page, "03-selected")

    edits = page.locator("#edit-list li")
    await page.click("#cut-button")
    await expect(edits).to_have_count(1)
    await expect(edits.first).to_contain_text(f"Cut 0:03.00 {DASH} 0:06.00")
    await page.click("#fade-out-button")
    await expect(edits).to_have_count(2)
    await page.get_by_role("button", name=re.compile(r"^Remove edit 2: Fade out")).click()
    await expect(edits).to_have_count(1)

    await page.click("#preview-button")
    await expect(page.locator("#preview-player")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    # Nine seconds: short enough to be previewed whole even in context mode.
    whole = "Preview of 1 edit (the whole edited recording): 0:09.0"
    await expect(page.locator("#preview-text")).to_contain_text(whole)
    assert await unlabelled_controls(page) == []
    await page.wait_for_function(f"Math.abs(document.getElementById('preview-audio').duration - {EDITED_S}) < 0.05")
    await page.wait_for_function("document.getElementById('preview-audio').currentTime > 0.2")
    await screenshot(page, "04-preview")

    await page.click("#save-button")
    await wait_for_version(page, 2)
    await expect(page.locator("#fact-duration")).to_have_text("0:09.00")
    await expect(page.locator("#version-select option")).to_have_count(2)
    await expect(page.locator("#version-select option").nth(1)).to_contain_text("Version 2: edited from 1")
    await expect(edits).to_have_count(0)
    assert await waveform_pixels(page) > 2000
    assert await waveform_image(page) != original_waveform, "the waveform did not change with the new version"
    await screenshot(page, "05-saved")

    # The export choices follow the server's presets: ACX allows 192 kbit/s MP3 only, lossless has no bitrate.
    await page.select_option("#preset-select", "audiobook-acx")
    await expect(page.locator("#format-select")).to_have_value("mp3")
    await expect(page.locator("#format-select option[value='wav']")).to_be_disabled()
    await expect(page.locator("#bitrate-select")).to_have_value("192")
    await expect(page.locator("#bitrate-select")).to_be_disabled()
    await expect(page.locator("#preset-help")).to_contain_text("192 kbit/s MP3")
    await page.select_option("#preset-select", "podcast")
    await page.select_option("#format-select", "flac")
    await expect(page.locator("#bitrate-select")).to_be_disabled()
    await page.select_option("#format-select", "mp3")
    await expect(page.locator("#bitrate-select")).to_be_enabled()
    await page.click("#render-button")
    download_link = page.locator("#download-link")
    await expect(download_link).to_be_visible(timeout=JOB_TIMEOUT_MS)
    await expect(page.locator("#render-summary")).to_contain_text("MP3")
    jobs = (await app.get_json("/api/audio/jobs?type=render"))["jobs"]
    assert [job["status"] for job in jobs] == ["completed"]
    verdict = "meets" if jobs[0]["result"]["targetsMet"] else "misses"
    await expect(page.locator("#render-targets")).to_contain_text(f"The exported file {verdict} the Podcast")
    async with page.expect_download() as download_info:
        await download_link.click()
    download = await download_info.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.suffix == ".mp3"
    assert abs(decoded_duration_s(saved) - EDITED_S) <= MP3_TOLERANCE_S
    await screenshot(page, "06-rendered")

    await page.select_option("#version-select", "1")
    await wait_for_version(page, 1)
    await expect(page.locator("#fact-duration")).to_have_text("0:12.00")
    assert await waveform_image(page) != ""

    jobs = page.locator("#job-list li")
    await expect(jobs).to_have_count(4)
    await expect(page.locator('#job-list li[data-status="completed"]')).to_have_count(4)
    for label in ("Import", "Preview", "Save version", "Export"):
        await expect(page.locator("#job-list")).to_contain_text(label)


async def test_phone_width_keyboard_and_every_edit_tool(
    app: RunningApp, phone_page: Page, screenshot: Screenshot, tmp_path: Path
) -> None:
    page = phone_page
    await page.goto(app.url)
    await drop_file(page, speech_wav(tmp_path))
    await wait_for_version(page, 1)
    await expect(page.locator("#editor-heading")).to_have_text("interview")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways on a phone"
    assert await waveform_pixels(page) > 1000

    # Arrow keys move the playhead by a second; Shift extends a selection from where it was.
    canvas = page.locator("#wave-canvas")
    await canvas.focus()
    await canvas.press("ArrowRight")
    await canvas.press("ArrowRight")
    await expect(page.locator("#time-display")).to_have_text(re.compile(r"^0:02\.0 /"))
    for _ in range(3):
        await canvas.press("Shift+ArrowRight")
    await expect(page.locator("#selection-text")).to_have_text(f"Selected 0:02.00 {DASH} 0:05.00 (3.00 s)")
    await page.locator("#trim-button").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#edit-list li")).to_have_text(re.compile(rf"^Trim to 0:02\.00 {DASH} 0:05\.00"))

    # A span chosen on the waveform lands on the timeline the pending trim leaves: 2.5-3.5 s becomes 0.5-1.5 s.
    await type_selection(page, 2.5, 3.5)
    await page.click("#gain-button")
    await page.click("#selection-clear")
    await page.fill("#gain-db", "-2")
    await page.click("#gain-button")
    await page.fill("#fade-in-seconds", "0.5")
    await page.click("#fade-in-button")
    await page.fill("#fade-out-seconds", "0.5")
    await page.click("#fade-out-button")
    await page.click("#normalize-button")
    await page.click("#silence-button")
    edits = page.locator("#edit-list li .edit-text")
    await expect(edits).to_have_text(
        [
            f"Trim to 0:02.00 {DASH} 0:05.00",
            f"Gain 3.0 dB on 0:00.50 {DASH} 0:01.50",
            f"Gain {MINUS}2.0 dB on everything",
            "Fade in over 0.50 s",
            "Fade out over 0.50 s",
            f"Normalize to {MINUS}16.0 LUFS, peak ≤ {MINUS}1.0 dBTP",
            f"Trim silence below {MINUS}50 dB at both ends",
        ]
    )
    await page.locator("#preview-button").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#preview-player")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    await expect(page.locator("#preview-text")).to_contain_text("Preview of 7 edits")
    await expect(page.locator("#notice")).to_be_hidden()
    await screenshot(page, "phone-editing")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390

    # The address names the recording, so a reload brings it back (leaving with pending edits asks first).
    page.on("dialog", lambda dialog: dialog.accept())
    await page.reload()
    await wait_for_version(page, 1)
    await expect(page.locator("#fact-duration")).to_have_text("0:12.00")


async def test_non_audio_upload_shows_the_reason_in_plain_words(
    app: RunningApp, page: Page, screenshot: Screenshot, tmp_path: Path
) -> None:
    await page.goto(app.url)
    await open_file(page, write_text(tmp_path / "notes.txt"))
    # The reason shows beside the file picker that was used.
    notice = page.locator("#upload-message")
    await expect(notice).to_be_visible(timeout=JOB_TIMEOUT_MS)
    jobs = (await app.get_json("/api/audio/jobs"))["jobs"]
    failed = [job for job in jobs if job["status"] == "failed"]
    assert len(failed) == 1
    error = failed[0]["error"]
    assert error["code"] == "unsupported_media"
    await expect(notice).to_contain_text(f"“notes.txt” could not be imported: {error['message']}")
    await expect(page.locator('#job-list li[data-status="failed"]')).to_contain_text(f"Failed: {error['message']}")
    await expect(page.locator("#editor")).to_be_hidden()
    await screenshot(page, "rejected-upload")


async def test_cancel_a_running_export(app: RunningApp, page: Page, screenshot: Screenshot, tmp_path: Path) -> None:
    source = speech_wav(tmp_path, seconds=LONG_S)
    await page.goto(app.url)
    # Chromium's own network throttling slows the upload down enough to watch its progress.
    devtools = await page.context.new_cdp_session(page)
    await devtools.send("Network.enable")
    await devtools.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": UPLOAD_BYTES_PER_S},
    )
    await open_file(page, source)
    await expect(page.locator("#upload-status")).to_be_visible()
    await expect(page.locator("#upload-label")).to_contain_text(
        re.compile(r"Uploading “interview\.wav” \(.+ of .+ MB\)")
    )
    await screenshot(page, "uploading")
    # The import of a long file is slow enough to watch: its progress bar shows until the waveform does.
    await expect(page.locator("#ingest-status")).to_be_visible()
    await expect(page.locator("#ingest-label")).to_contain_text("interview.wav")
    await screenshot(page, "importing")
    await wait_for_version(page, 1)
    await expect(page.locator("#ingest-status")).to_be_hidden()
    await page.select_option("#format-select", "mp3")
    await page.click("#render-button")

    running = page.locator('#job-list li[data-status="running"]')
    await expect(running).to_have_count(1, timeout=JOB_TIMEOUT_MS)
    await expect(running).to_contain_text("Export")
    await expect(page.locator("#render-label")).to_contain_text("Exporting")
    job_id = await running.get_attribute("data-job-id")
    assert job_id
    await screenshot(page, "export-running")

    await running.get_by_role("button", name="Cancel export job").click()
    cancelled = page.locator(f'#job-list li[data-job-id="{job_id}"]')
    await expect(cancelled).to_have_attribute("data-status", "cancelled")
    await expect(cancelled).to_contain_text("Cancelled")
    await expect(page.locator("#render-message")).to_contain_text("The export was cancelled.")
    await expect(page.locator("#render-status")).to_be_hidden()
    await expect(page.locator("#render-result")).to_be_hidden()
    assert (await app.get_json(f"/api/audio/jobs/{job_id}"))["status"] == "cancelled"
    # The worker stops the render and removes what it had written.
    output = render_dir(job_id)
    for _ in range(200):
        if not holds_files(output):
            break
        await asyncio.sleep(0.1)
    assert not holds_files(output), f"partial render left in {output}"
    await screenshot(page, "export-cancelled")
