"""The editor keeps the user's work and answers like an audio editor: undo and redo, pending edits kept across a
reload, a version switch that asks, exports listed after a reload, selection handles, Shift+click, wheel zoom around
the pointer, exact ruler labels, touch selection on a phone, and edits that would leave no audio refused at once.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Dialog, Page, expect

from tests.browser.conftest import PHONE
from tests.browser.page_actions import JOB_TIMEOUT_MS, open_file, type_selection, wait_for_version
from tests.browser.running_app import RunningApp
from tests.support.audio_samples import speech_like, write_audio

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Screenshot = Callable[[Page, str], Awaitable[Path]]

RATE = 44100
SPEECH_S = 12.0
DASH = "\u2013"


def speech_wav(folder: Path, name: str = "interview.wav") -> Path:
    return write_audio(folder / name, speech_like(SPEECH_S, rate=RATE, channels=1, peak_db=-6.0), rate=RATE)


def accept_dialogs(page: Page) -> list[str]:
    """Accept every dialog the page opens (leaving with unsaved edits, switching versions); returns their kinds."""
    seen: list[str] = []

    async def accept(dialog: Dialog) -> None:
        seen.append(dialog.type)
        await dialog.accept()

    page.on("dialog", accept)
    return seen


async def canvas_x(page: Page, seconds: float) -> tuple[float, float]:
    """The page coordinates of the moment ``seconds`` on the waveform (mid-height)."""
    box = await page.locator("#wave-canvas").bounding_box()
    assert box is not None
    start, end = (float(value) for value in (await page.get_attribute("#wave-canvas", "data-view") or "").split())
    x = box["x"] + box["width"] * (seconds - start) / (end - start)
    return x, box["y"] + box["height"] * 0.6


async def shown_view(page: Page) -> tuple[float, float]:
    start, end = (await page.get_attribute("#wave-canvas", "data-view") or "").split()
    return float(start), float(end)


async def selection_values(page: Page) -> tuple[float, float]:
    return float(await page.input_value("#selection-start")), float(await page.input_value("#selection-end"))


async def test_undo_redo_keyboard_cut_and_pending_edits_survive_a_reload(
    app: RunningApp, page: Page, screenshot: Screenshot, tmp_path: Path
) -> None:
    dialogs = accept_dialogs(page)
    await page.goto(app.url)
    await open_file(page, speech_wav(tmp_path))
    await wait_for_version(page, 1)
    # The default title is the file's name without its extension.
    await expect(page.locator("#editor-heading")).to_have_text("interview")
    edits = page.locator("#edit-list li .edit-text")

    # Start and end take h:mm:ss.mmm; Delete cuts the selection.
    await type_selection(page, 3, 6)
    await page.fill("#selection-start", "0:00:03.250")
    await page.locator("#selection-start").press("Tab")
    await expect(page.locator("#selection-text")).to_have_text(f"Selected 0:03.25 {DASH} 0:06.00 (2.75 s)")
    await page.locator("#wave-canvas").focus()
    await page.keyboard.press("Delete")
    await expect(edits).to_have_text([f"Cut 0:03.25 {DASH} 0:06.00"])
    await expect(page.locator("#selection-text")).to_have_text("Nothing selected")
    await page.click("#fade-in-button")
    await expect(edits).to_have_count(2)

    # Undo goes back one change at a time, the selection the cut was made from included; redo comes forward.
    await page.keyboard.press("Control+z")
    await expect(edits).to_have_count(1)
    await page.keyboard.press("Control+z")
    await expect(edits).to_have_count(0)
    await expect(page.locator("#selection-text")).to_have_text(f"Selected 0:03.25 {DASH} 0:06.00 (2.75 s)")
    await expect(page.locator("#undo-button")).to_be_disabled()
    await page.keyboard.press("Control+Shift+z")
    await expect(edits).to_have_text([f"Cut 0:03.25 {DASH} 0:06.00"])
    await page.click("#redo-button")
    await expect(edits).to_have_count(2)
    await expect(page.locator("#redo-button")).to_be_disabled()
    await page.click("#undo-button")
    await expect(edits).to_have_count(1)
    await page.click("#fade-out-button")
    await expect(edits).to_have_text([f"Cut 0:03.25 {DASH} 0:06.00", "Fade out over 1.00 s"])
    await expect(page.locator("#redo-button")).to_be_disabled()

    # Cutting or trimming to (almost) nothing is refused beside the selection, before any request.
    await type_selection(page, 0, 12)
    await page.fill("#selection-end", "0:12")
    await page.locator("#selection-end").press("Tab")
    await page.click("#cut-button")
    await expect(page.locator("#selection-message")).to_contain_text("would leave no audio")
    await expect(page.locator("#selection-message")).to_be_in_viewport()
    await expect(edits).to_have_count(2)
    await screenshot(page, "cut-everything-refused")

    # Leaving asks first; coming back restores the pending edits, with a note.
    await page.reload()
    assert dialogs == ["beforeunload"]
    await wait_for_version(page, 1)
    await expect(edits).to_have_text([f"Cut 0:03.25 {DASH} 0:06.00", "Fade out over 1.00 s"])
    await expect(page.locator("#restored-note")).to_contain_text("Restored 2 pending edits")
    await screenshot(page, "restored-after-reload")
    await page.click("#edit-list li:nth-child(2) button")
    await expect(edits).to_have_count(1)
    await expect(page.locator("#restored-note")).to_be_hidden()
    await page.keyboard.press("Control+z")
    await expect(edits).to_have_count(2)


async def test_handles_shift_click_wheel_zoom_ruler_and_play_selection(
    app: RunningApp, page: Page, tmp_path: Path
) -> None:
    await page.goto(app.url)
    await open_file(page, speech_wav(tmp_path))
    await wait_for_version(page, 1)
    await page.locator("#wave-canvas").scroll_into_view_if_needed()
    # The waveform's focus ring shows around its scroller (the canvas's own would be clipped).
    await page.locator("#wave-canvas").focus()
    await page.keyboard.press("ArrowRight")
    ring = await page.eval_on_selector("#wave-scroller", "element => getComputedStyle(element).outlineStyle")
    assert ring == "solid"
    await type_selection(page, 3, 6)

    # Dragging the end's handle moves the end only.
    x, y = await canvas_x(page, 6)
    to_x, _ = await canvas_x(page, 8)
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(to_x, y, steps=6)
    await page.mouse.up()
    start_s, end_s = await selection_values(page)
    assert start_s == pytest.approx(3, abs=0.001)
    assert end_s == pytest.approx(8, abs=0.1)

    # Shift+click extends from the selection's start.
    x, y = await canvas_x(page, 10)
    await page.keyboard.down("Shift")
    await page.mouse.click(x, y)
    await page.keyboard.up("Shift")
    start_s, end_s = await selection_values(page)
    assert start_s == pytest.approx(3, abs=0.001)
    assert end_s == pytest.approx(10, abs=0.1)

    # Play selection starts at its start and stops at its end.
    await type_selection(page, 1, 1.6)
    await page.click("#play-selection")
    await expect(page.locator("#play-button")).to_have_text("Pause")
    await expect(page.locator("#play-button")).to_have_text("Play", timeout=10_000)
    assert await page.evaluate("document.getElementById('audio').currentTime") == pytest.approx(1.6, abs=0.25)

    # Ctrl+wheel zooms around the pointer: the moment under it stays under it.
    assert await shown_view(page) == pytest.approx((0, SPEECH_S), abs=0.01)
    x, y = await canvas_x(page, 9)
    await page.mouse.move(x, y)
    await page.keyboard.down("Control")
    await page.mouse.wheel(0, -400)
    await page.keyboard.up("Control")
    await page.wait_for_function("document.getElementById('wave-canvas').dataset.view.split(' ')[0] > 1")
    start, end = await shown_view(page)
    assert end - start < SPEECH_S / 2
    after_x, _ = await canvas_x(page, 9)
    assert after_x == pytest.approx(x, abs=3)

    # The plain wheel scrolls in time.
    await page.mouse.wheel(0, 200)
    await page.wait_for_function(f"document.getElementById('wave-canvas').dataset.view.split(' ')[0] > {start + 0.01}")

    # Zoomed to 2.5-4.1 s, ticks are a quarter second apart and every label is exact.
    await page.click("#selection-clear")
    await type_selection(page, 2.5, 4.1)
    await page.click("#zoom-selection")
    await page.wait_for_function("document.getElementById('wave-canvas').dataset.ruler.includes('0:03.25')")
    labels = (await page.get_attribute("#wave-canvas", "data-ruler") or "").split()
    assert labels == ["0:02.50", "0:02.75", "0:03.00", "0:03.25", "0:03.50", "0:03.75", "0:04.00"]


@pytest.fixture
async def touch_phone(browser: Browser) -> AsyncIterator[Page]:
    """A phone-sized page with a touch screen."""
    context = await browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = await context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        await context.close()
    assert not errors, f"the page raised: {errors}"


async def test_a_finger_dragged_on_the_waveform_selects_on_a_phone(
    app: RunningApp, touch_phone: Page, screenshot: Screenshot, tmp_path: Path
) -> None:
    page = touch_phone
    await page.goto(app.url)
    await open_file(page, speech_wav(tmp_path))
    await wait_for_version(page, 1)
    await page.evaluate("window.scrollTo(0, 0)")
    box = await page.locator("#wave-canvas").bounding_box()
    assert box is not None
    assert box["y"] >= 0
    assert box["y"] + box["height"] <= PHONE["height"], "the waveform is not in view on a phone"
    await expect(page.locator(".help-touch")).to_be_visible()
    await screenshot(page, "phone-loaded")

    y = box["y"] + box["height"] * 0.6
    touches = await page.context.new_cdp_session(page)

    async def touch(kind: str, x: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y}]
        await touches.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    left = box["x"] + box["width"] * 0.25
    right = box["x"] + box["width"] * 0.5
    await touch("touchStart", left)
    for step in range(1, 9):
        await touch("touchMove", left + (right - left) * step / 8)
    await touch("touchEnd", right)
    await expect(page.locator("#selection-text")).to_contain_text("Selected")
    start_s, end_s = await selection_values(page)
    assert start_s == pytest.approx(3, abs=0.3)
    assert end_s == pytest.approx(6, abs=0.3)
    assert await page.evaluate("window.scrollY") == 0, "the page panned instead of selecting"
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await screenshot(page, "phone-selected")

    # Two fingers spread apart zoom in around the point between them.
    middle = box["x"] + box["width"] * 0.5
    spread = [(middle - 20, middle + 20)] + [(middle - 20 - 12 * step, middle + 20 + 12 * step) for step in (1, 3, 6)]
    for index, (a, b) in enumerate(spread):
        await touches.send(
            "Input.dispatchTouchEvent",
            {"type": "touchStart" if index == 0 else "touchMove", "touchPoints": [{"x": a, "y": y}, {"x": b, "y": y}]},
        )
    await touches.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    await page.wait_for_function(
        "(([start, end]) => end - start < 6)(document.getElementById('wave-canvas').dataset.view.split(' '))"
    )
    start, end = await shown_view(page)
    assert start < SPEECH_S / 2 < end


async def test_exports_and_jobs_stay_listed_after_a_reload_and_a_version_switch_asks(
    app: RunningApp, page: Page, browser: Browser, screenshot: Screenshot, tmp_path: Path
) -> None:
    await page.goto(app.url)
    await open_file(page, speech_wav(tmp_path, "Épisode ünïcødé.wav"))
    await wait_for_version(page, 1)
    await expect(page.locator("#editor-heading")).to_have_text("Épisode ünïcødé")
    await type_selection(page, 3, 6)
    await page.click("#cut-button")
    await page.click("#save-button")
    await wait_for_version(page, 2)
    await expect(page.locator("#edit-list li")).to_have_count(0)

    await page.select_option("#preset-select", "")
    await page.select_option("#format-select", "wav")
    await page.click("#render-button")
    await expect(page.locator("#download-link")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    await expect(page.locator("#download-link")).to_have_text("Download Épisode-ünïcødé.wav")

    # A switch of version with pending edits asks; declining keeps the version and its edits.
    await page.click("#fade-in-button")
    page.once("dialog", lambda dialog: dialog.dismiss())
    await page.select_option("#version-select", "1")
    await expect(page.locator("#version-select")).to_have_value("2")
    await expect(page.locator("#edit-list li")).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    await page.select_option("#version-select", "1")
    await wait_for_version(page, 1)
    await expect(page.locator("#edit-list li")).to_have_count(0)

    # After a reload the export is still listed, with a link that downloads it under its accented name.
    await page.reload()
    await wait_for_version(page, 1)
    exports = page.locator("#export-list a")
    await expect(exports).to_have_text(["Épisode-ünïcødé.wav"])
    async with page.expect_download() as download_info:
        await exports.first.click()
    assert (await download_info.value).suggested_filename == "Épisode-ünïcødé.wav"
    render_row = page.locator('#job-list li[data-status="completed"]').filter(has_text="Export")
    await expect(render_row).to_contain_text("Épisode ünïcødé")
    await expect(render_row).to_contain_text("WAV of version 2")
    await expect(render_row.locator("a.job-download")).to_have_text("Download Épisode-ünïcødé.wav")
    await expect(page.locator("#job-list li")).to_have_count(3)
    await screenshot(page, "exports-after-reload")

    # A row opens its recording's version.
    await render_row.get_by_role("link", name="Épisode ünïcødé").click()
    await wait_for_version(page, 2)

    # Another browser sees no jobs of recordings it never opened, unless it asks for all of them.
    other = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        stranger = await other.new_page()
        await stranger.goto(app.url)
        await expect(stranger.locator("#job-list-empty")).to_be_visible()
        await stranger.check("#jobs-show-all")
        await expect(stranger.locator("#job-list li")).to_have_count(3)
        await expect(stranger.locator("#job-list")).to_contain_text(re.compile("Download"))
    finally:
        await other.close()


async def test_a_long_recording_paints_from_coarse_peaks_and_fetches_the_stored_ones_on_zoom(
    app: RunningApp, page: Page, tmp_path: Path
) -> None:
    # 20 minutes at 16 kHz: past the length where the stored peaks are worth waiting for.
    source = write_audio(
        tmp_path / "long.mp3", speech_like(1200.0, rate=16000, channels=1), rate=16000, kind="mp3", bitrate_kbps=32
    )
    peaks_requests: list[str] = []
    page.on("request", lambda request: peaks_requests.append(request.url) if ".json" in request.url else None)
    await page.goto(app.url)
    await open_file(page, source)
    await wait_for_version(page, 1)
    assert len(peaks_requests) == 1
    assert "samplesPerPixel=" in peaks_requests[0]

    # Zoomed in, the stored peaks are fetched once and the view stays where it was.
    await page.locator("#wave-canvas").scroll_into_view_if_needed()
    await type_selection(page, 600, 602)
    await page.click("#zoom-selection")
    # The stored peaks (256 samples a bin), or a span's finer ones drawn over them.
    await page.wait_for_function("Number(document.getElementById('wave-canvas').dataset.samplesPerPixel) <= 256")
    assert "samplesPerPixel=" not in peaks_requests[1]
    start, end = await shown_view(page)
    assert start < 600
    assert end > 602
    await page.click("#zoom-in")
    await page.click("#zoom-in")
    # The coarse peaks (2048 samples a bin) allow no less than about 14 s across the view; the stored ones do.
    await page.wait_for_function(
        "(([start, end]) => end - start < 4)(document.getElementById('wave-canvas').dataset.view.split(' '))"
    )
    assert len(peaks_requests) == 2


async def test_playhead_follow_leaves_alone_a_user_who_scrolled_away(
    app: RunningApp, page: Page, tmp_path: Path
) -> None:
    await page.goto(app.url)
    await open_file(page, speech_wav(tmp_path))
    await wait_for_version(page, 1)
    await page.locator("#wave-canvas").scroll_into_view_if_needed()
    await type_selection(page, 0.5, 2.5)
    await page.click("#zoom-selection")
    await page.click("#selection-clear")
    await page.click("#play-button")
    await expect(page.locator("#play-button")).to_have_text("Pause")
    # Scroll to the end with the slider while it plays: the view must stay there, not jump back to the playhead.
    await page.eval_on_selector(
        "#wave-scroll", "input => { input.value = input.max; input.dispatchEvent(new Event('input')); }"
    )
    playing_from = await page.evaluate("document.getElementById('audio').currentTime")
    await page.wait_for_function(f"document.getElementById('audio').currentTime > {playing_from + 1}")
    start, end = await shown_view(page)
    assert end == pytest.approx(SPEECH_S, abs=0.05)
    assert start > 8
    await page.click("#play-button")
