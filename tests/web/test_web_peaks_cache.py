"""Peaks at a coarser zoom level are rescaled on a worker thread (the loop keeps answering) and cached."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

import web.peaks_cache
from common import media
from common.ids import new_id
from common.media_store import get_media_store
from common.peaks import PeakSpan
from tests.support.audio_samples import write_audio
from tests.support.media_files import asset_job_dir, media_url
from tests.web.conftest import in_process_client

STORED = {
    "version": 2,
    "channels": 1,
    "sample_rate": 48000,
    "samples_per_pixel": 256,
    "bits": 8,
    "length": 4,
    "data": [-10, 10, -1, 1, -20, 5, -2, 30],
}
WAIT_S = 20.0


class RecordingRescale:
    """Wraps ``rescale_peaks``: records the thread of each call and holds each call until released."""

    def __init__(self) -> None:
        self.real = web.peaks_cache.rescale_peaks
        self.threads: list[threading.Thread] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, peaks: dict[str, Any], samples_per_pixel: int) -> dict[str, Any]:
        self.threads.append(threading.current_thread())
        self.started.set()
        if not self.release.wait(WAIT_S):
            raise RuntimeError("never released")
        return self.real(peaks, samples_per_pixel)


async def test_rescaling_runs_off_the_loop_and_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    rescale = RecordingRescale()
    monkeypatch.setattr(web.peaks_cache, "rescale_peaks", rescale)
    path = asset_job_dir(new_id(), new_id()) / "peaks.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(STORED))
    url = media_url(path)
    async with in_process_client() as client:
        zoomed = asyncio.create_task(client.get(url, params={"samplesPerPixel": "512"}))
        assert await asyncio.to_thread(rescale.started.wait, WAIT_S)
        # The rescale is in progress and holding its thread: the loop must still answer.
        health = await client.get("/healthz")
        assert health.status_code == 200
        assert not zoomed.done()
        rescale.release.set()
        first = await zoomed
        assert first.status_code == 200
        assert first.json()["data"] == [-10, 10, -20, 30]
        assert rescale.threads[0] is not threading.current_thread()
        again = await client.get(url, params={"samplesPerPixel": "512"})
        assert again.content == first.content
        assert len(rescale.threads) == 1
        other_zoom = await client.get(url, params={"samplesPerPixel": "1024"})
        assert other_zoom.json()["length"] == 1
        assert len(rescale.threads) == 2
        # A file that changes is read again.
        path.write_text(json.dumps({**STORED, "data": [0, 0, 0, 0, 0, 0, 0, 0]}))
        os.utime(path, ns=(1, 1))
        changed = await client.get(url, params={"samplesPerPixel": "512"})
        assert changed.json()["data"] == [0, 0, 0, 0]
        assert len(rescale.threads) == 3


def test_the_cache_stays_within_its_bytes() -> None:
    cache = web.peaks_cache.RescaledPeaksCache(max_bytes=100)
    for index in range(10):
        cache._keep(("p", index, 0, 0, 512), b"x" * 30)
    assert cache.held_bytes <= 100
    assert list(cache.entries) == [("p", index, 0, 0, 512) for index in (7, 8, 9)]


async def test_span_decoding_runs_off_the_loop_and_is_cached(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[threading.Thread] = []
    started, release = threading.Event(), threading.Event()
    real = web.peaks_cache.span_peaks

    def held_span_peaks(master: Any, span: PeakSpan) -> dict[str, Any]:
        calls.append(threading.current_thread())
        started.set()
        if not release.wait(WAIT_S):
            raise RuntimeError("never released")
        return real(master, span)

    monkeypatch.setattr(web.peaks_cache, "span_peaks", held_span_peaks)
    rate = 8000
    master = write_audio(tmp_path / "m.flac", np.full((rate, 1), 0.25, dtype=np.float32), rate=rate, kind="flac")
    key = f"{media.asset_run_prefix(new_id(), new_id(), new_id())}/master.flac"
    store = await get_media_store()
    await store.put_file(key, master)
    cache = web.peaks_cache.RescaledPeaksCache(max_bytes=1 << 20)
    span = PeakSpan(0, 800, 100)
    async with in_process_client() as client:
        decoding = asyncio.create_task(cache.get_span(store, key, span))
        assert await asyncio.to_thread(started.wait, WAIT_S)
        # The decode is holding its thread: the loop must still answer.
        assert (await client.get("/healthz")).status_code == 200
        assert not decoding.done()
        release.set()
        first = json.loads(await decoding)
    assert calls[0] is not threading.current_thread()
    assert (first["start_frame"], first["length"], first["bits"]) == (0, 8, 16)
    assert first["data"][:2] == [8192, 8192]
    assert await cache.get_span(store, key, span) == orjson.dumps(first)
    assert len(calls) == 1
