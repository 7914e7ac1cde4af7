"""What the browser tests do on the editor page and read back from it, in the page's own terms."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import av
from playwright.async_api import Page, expect

JOB_TIMEOUT_MS = 90_000


async def open_file(page: Page, path: Path) -> None:
    await page.set_input_files("#file-input", str(path))


async def drop_file(page: Page, path: Path, media_type: str = "audio/wav") -> None:
    """Drop ``path`` onto the drop zone, as dragging it from the desktop does."""
    data = base64.b64encode(await asyncio.to_thread(path.read_bytes)).decode()
    transfer = await page.evaluate_handle(
        """([name, type, data]) => {
            const bytes = Uint8Array.from(atob(data), (char) => char.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type }));
            return transfer;
        }""",
        [path.name, media_type, data],
    )
    await page.dispatch_event("#drop-zone", "dragover", {"dataTransfer": transfer})
    await page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})


async def wait_for_version(page: Page, number: int) -> None:
    """Until version ``number`` is on screen with its waveform drawn."""
    await expect(page.locator("#editor")).to_have_attribute("data-version", str(number), timeout=JOB_TIMEOUT_MS)
    await expect(page.locator("#wave-loading")).to_be_hidden()


async def drag_across(page: Page, start_fraction: float, end_fraction: float) -> None:
    """Drag the mouse across the visible waveform, from one fraction of its width to another."""
    canvas = page.locator("#wave-canvas")
    await canvas.scroll_into_view_if_needed()
    box = await canvas.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] * 0.6
    await page.mouse.move(box["x"] + box["width"] * start_fraction, y)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] * end_fraction, y, steps=8)
    await page.mouse.up()


async def click_waveform(page: Page, fraction: float) -> None:
    canvas = page.locator("#wave-canvas")
    box = await canvas.bounding_box()
    assert box is not None
    await page.mouse.click(box["x"] + box["width"] * fraction, box["y"] + box["height"] * 0.6)


async def unlabelled_controls(page: Page) -> list[str]:
    """The visible controls a screen reader would announce without a name."""
    return list(
        await page.evaluate(
            """() => [...document.querySelectorAll("button, input, select, [role=slider], audio[controls]")]
                .filter((element) => element.checkVisibility() || element.type === "file")
                .filter((element) => !(element.labels?.length || element.getAttribute("aria-label")
                    || element.getAttribute("aria-labelledby") || element.textContent.trim()))
                .map((element) => element.id || element.outerHTML.slice(0, 80))"""
        )
    )


async def waveform_pixels(page: Page) -> int:
    """How many canvas pixels are painted in the waveform's colour (teal: green well above red)."""
    return int(
        await page.eval_on_selector(
            "#wave-canvas",
            """canvas => {
                const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
                let count = 0;
                for (let i = 0; i < data.length; i += 4) if (data[i + 1] - data[i] > 50) count += 1;
                return count;
            }""",
        )
    )


async def waveform_image(page: Page) -> str:
    return str(await page.eval_on_selector("#wave-canvas", "canvas => canvas.toDataURL()"))


async def selection_inputs(page: Page) -> tuple[float, float]:
    return float(await page.input_value("#selection-start")), float(await page.input_value("#selection-end"))


async def type_selection(page: Page, start_s: float, end_s: float) -> None:
    await page.fill("#selection-start", f"{start_s}")
    await page.fill("#selection-end", f"{end_s}")
    await page.locator("#selection-end").press("Tab")


def decoded_duration_s(path: Path) -> float:
    """The duration of ``path`` by decoding every audio frame (not the container's estimate)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        frames = 0
        rate = 0
        for frame in container.decode(stream):
            frames += frame.samples
            rate = frame.sample_rate
    assert rate > 0, f"{path} has no decodable audio"
    return frames / rate
