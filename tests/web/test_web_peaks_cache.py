"""Peaks at a coarser zoom level are rescaled on a worker thread (the loop keeps answering) and cached; span peaks
are decoded on a thread too, and a decode told to stop ends between frames, frees its slot and caches nothing."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path
from typing import Any, cast

import numpy as np
import orjson
import pytest

import web.peaks_cache
from common import media
from common.ids import new_id
from common.media_store import MediaStore, get_media_store
from common.media_store.range_file import RangeFile
from common.peaks import PeakSpan
from common.span_peaks import SpanAbandoned, span_peaks
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

    def held_span_peaks(master: Any, span: PeakSpan, *, stop: threading.Event | None) -> dict[str, Any]:
        calls.append(threading.current_thread())
        started.set()
        if not release.wait(WAIT_S):
            raise RuntimeError("never released")
        return real(master, span, stop=stop)

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


NOISE_RATE = 48000


def noise_master(path: Path, seconds: int) -> Path:
    """A mono FLAC of white noise: it hardly compresses, so a minute of it is many ranged reads."""
    noise = np.random.default_rng(5).uniform(-0.5, 0.5, (seconds * NOISE_RATE, 1)).astype(np.float32)
    return write_audio(path, noise, rate=NOISE_RATE, kind="flac")


class CountingReads:
    """The ranged reads of a master held in memory, counted; sets ``stop`` at read number ``stop_at``."""

    def __init__(self, master: bytes, stop_at: int | None = None) -> None:
        self.master = master
        self.stop_at = stop_at
        self.reads = 0
        self.stop = threading.Event()

    def __call__(self, start: int, end: int) -> bytes:
        self.reads += 1
        if self.reads == self.stop_at:
            self.stop.set()
        return self.master[start:end]


def test_a_span_decode_told_to_stop_ends_at_the_next_frame(tmp_path: Path) -> None:
    master = noise_master(tmp_path / "noise.flac", 65).read_bytes()
    span = PeakSpan(2 * NOISE_RATE, 62 * NOISE_RATE, 64)
    whole = CountingReads(master)
    document = span_peaks(RangeFile(whole, len(master)), span, stop=whole.stop)
    assert document == span_peaks(RangeFile(whole, len(master)), span)
    assert document["length"] == span.pixels
    stop_at = 8
    assert whole.reads > 2 * stop_at
    # Told to stop during the eighth read: the frames that read completes may be decoded, no further read is made.
    stopped = CountingReads(master, stop_at=stop_at)
    with pytest.raises(SpanAbandoned) as abandoned:
        span_peaks(RangeFile(stopped, len(master)), span, stop=stopped.stop)
    assert stopped.reads == stop_at
    assert 0 < abandoned.value.decoded_frames < span.end_frame - span.start_frame
    # Told before it starts: nothing is read at all.
    early = CountingReads(master, stop_at=0)
    early.stop.set()
    with pytest.raises(SpanAbandoned) as before:
        span_peaks(RangeFile(early, len(master)), span, stop=early.stop)
    assert (early.reads, before.value.decoded_frames) == (0, 0)


class StopAfterReads:
    """The media store, but ``stop`` is set by the ``stop_at``-th ranged read (as a client leaving would)."""

    def __init__(self, store: MediaStore, stop_at: int) -> None:
        self.store = store
        self.stop_at = stop_at
        self.reads = 0
        self.stop = threading.Event()

    async def head(self, key: str) -> Any:
        return await self.store.head(key)

    async def get_bytes(self, key: str, *, start: int, end: int) -> bytes:
        self.reads += 1
        if self.reads == self.stop_at:
            self.stop.set()
        return await self.store.get_bytes(key, start=start, end=end)


async def test_an_abandoned_span_decode_frees_its_slot_and_caches_nothing(tmp_path: Path) -> None:
    key = f"{media.asset_run_prefix(new_id(), new_id(), new_id())}/master.flac"
    store = await get_media_store()
    await store.put_file(key, noise_master(tmp_path / "noise.flac", 30))
    cache = web.peaks_cache.RescaledPeaksCache(max_bytes=1 << 30)
    span = PeakSpan(0, 30 * NOISE_RATE, 64)
    stopping = StopAfterReads(store, stop_at=6)
    with pytest.raises(SpanAbandoned) as abandoned:
        await cache.get_span(cast(MediaStore, stopping), key, span, stop=stopping.stop)
    assert stopping.reads == 6
    assert abandoned.value.decoded_frames < span.end_frame - span.start_frame
    assert cache.span_decodes.borrowed_tokens == 0
    assert not cache.entries
    # The same span asked again is decoded afresh, to its end, and kept.
    completing = StopAfterReads(store, stop_at=0)
    document = json.loads(await cache.get_span(cast(MediaStore, completing), key, span, stop=completing.stop))
    assert completing.reads > 6
    assert document["length"] == span.pixels
    assert len(cache.entries) == 1
