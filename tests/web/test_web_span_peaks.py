"""``GET /api/audio/assets/{id}/versions/{n}/peaks?start=&end=&samplesPerPixel=``: peaks of a span decoded from
the version's master by the real web process, on both media stores, every bad input a 4xx JSON error, and a
request whose client has gone stops decoding and is logged."""

from __future__ import annotations

import asyncio
import gzip
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from common import media
from common.ids import new_id
from common.jobs import JobType, get_job_store
from common.media_store import get_media_store
from common.peaks import MAX_SPAN_PIXELS, MAX_SPAN_S
from tests.support.audio_samples import write_audio
from tests.support.web_server import WebServer, running_web_server
from tests.web.helpers import assert_error

pytestmark = pytest.mark.slow

RATE = 48000
DURATION_S = 300
TONE_HZ = 1000.0
AMPLITUDE = 0.5


def tone(frames: int) -> np.ndarray:
    """A 1 kHz tone in the left channel, silence in the right: the channels must not be mixed up."""
    t = np.arange(frames) / RATE
    left = AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t)
    return np.stack([left, np.zeros(frames)], axis=1).astype(np.float32)


async def stored_version(tmp_path: Path, *, master_bytes: bytes | None = None) -> tuple[str, np.ndarray]:
    """A stereo FLAC master (or ``master_bytes``) put in the media store and recorded as version 1 of a new asset,
    as an ingest would."""
    signal = tone(DURATION_S * RATE)
    master = write_audio(tmp_path / "master.flac", signal, rate=RATE, kind="flac")
    if master_bytes is not None:
        master.write_bytes(master_bytes)
    asset_id = new_id()
    store = await get_job_store()
    job, _ = await store.create_job(JobType.INGEST, {"assetId": asset_id})
    key = f"{media.asset_run_prefix(asset_id, job.id, new_id())}/master.flac"
    await (await get_media_store()).put_file(key, master)
    info: dict[str, Any] = {
        "durationSec": DURATION_S,
        "frames": len(signal),
        "sampleRate": RATE,
        "channels": 2,
        "format": "flac",
        "codec": "flac",
        "audioUrl": media.media_url(key),
        "peaksUrl": None,
        "title": "tone",
    }
    await store.add_asset_version(asset_id, job.id, info)
    # What a FLAC of 16-bit samples holds: the float samples as the encoder rounded them.
    stored = np.clip(np.round(signal * 32768), -32768, 32767).astype(np.int32)
    return asset_id, stored


def span_url(asset_id: str, version: int = 1) -> str:
    return f"/api/audio/assets/{asset_id}/versions/{version}/peaks"


@pytest.fixture
def server(media_env: str) -> Iterator[WebServer]:
    with running_web_server() as web:
        yield web


async def test_a_span_is_decoded_from_the_master_to_the_sample(server: WebServer, tmp_path: Path) -> None:
    asset_id, stored = await stored_version(tmp_path)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        # One frame per pixel, from the middle of a five-minute master: the demuxer seeks there.
        answer = await http.get(
            span_url(asset_id), params={"start": "200.0101", "end": "200.02", "samplesPerPixel": "1"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "private, max-age=3600"
        document = answer.json()
        first = 200 * RATE + 484
        assert (document["start_frame"], document["samples_per_pixel"], document["bits"]) == (first, 1, 16)
        assert document["channels"] == 2
        assert document["length"] == 200 * RATE + 960 - first
        pixels = np.array(document["data"]).reshape(-1, 2, 2)
        expected = stored[first : first + document["length"]]
        # Each pixel is one frame: min equals max equals the sample, every cycle of the tone is there.
        np.testing.assert_allclose(pixels[:, 0, 0], expected[:, 0], atol=1)
        np.testing.assert_array_equal(pixels[:, 0, 0], pixels[:, 0, 1])
        assert not pixels[:, 1].any()

        # Coarser pixels hold each block's extremes; the last pixel stops at the end of the audio.
        coarse = await http.get(
            span_url(asset_id),
            params={"start": str(DURATION_S - 1.0), "end": str(DURATION_S + 5.0), "samplesPerPixel": "100"},
        )
        body = coarse.json()
        assert body["start_frame"] == (DURATION_S - 1) * RATE
        assert body["length"] == RATE // 100
        blocks = np.array(body["data"]).reshape(-1, 2, 2)
        tail = stored[body["start_frame"] :].reshape(-1, 100, 2)
        np.testing.assert_allclose(blocks[:, 0, 0], tail[:, :, 0].min(axis=1), atol=1)
        np.testing.assert_allclose(blocks[:, 0, 1], tail[:, :, 0].max(axis=1), atol=1)

        # Sent compressed to a client that accepts it, and the same bytes again from the cache.
        zipped = await http.get(
            span_url(asset_id),
            params={"start": "10", "end": "70", "samplesPerPixel": "128"},
            headers={"Accept-Encoding": "gzip"},
        )
        assert zipped.headers["content-encoding"] == "gzip"
        raw = await http.get(
            span_url(asset_id),
            params={"start": "10", "end": "70", "samplesPerPixel": "128"},
            headers={"Accept-Encoding": "identity"},
        )
        assert gzip.decompress(await _raw_body(server, asset_id)) == raw.content


async def _raw_body(server: WebServer, asset_id: str) -> bytes:
    """The compressed body as sent (httpx would decode it)."""
    async with (
        httpx.AsyncClient(base_url=server.base_url, timeout=30) as http,
        http.stream(
            "GET",
            span_url(asset_id),
            params={"start": "10", "end": "70", "samplesPerPixel": "128"},
            headers={"Accept-Encoding": "gzip"},
        ) as response,
    ):
        assert response.headers["content-encoding"] == "gzip"
        return b"".join([chunk async for chunk in response.aiter_raw()])


BAD_PARAMETERS: list[tuple[dict[str, str], str]] = [
    ({"end": "2", "samplesPerPixel": "1"}, "start"),
    ({"start": "1", "samplesPerPixel": "1"}, "end"),
    ({"start": "1", "end": "2"}, "samplesPerPixel"),
    ({"start": "abc", "end": "2", "samplesPerPixel": "1"}, "start"),
    ({"start": "nan", "end": "2", "samplesPerPixel": "1"}, "start"),
    ({"start": "1", "end": "inf", "samplesPerPixel": "1"}, "end"),
    ({"start": "-1", "end": "2", "samplesPerPixel": "1"}, "start"),
    ({"start": "2", "end": "2", "samplesPerPixel": "1"}, "end"),
    ({"start": "3", "end": "2", "samplesPerPixel": "1"}, "end"),
    ({"start": "1", "end": "2", "samplesPerPixel": "0"}, "samplesPerPixel"),
    ({"start": "1", "end": "2", "samplesPerPixel": "1.5"}, "samplesPerPixel"),
    ({"start": "1", "end": "2", "samplesPerPixel": "99999999999"}, "samplesPerPixel"),
    ({"start": "1e400", "end": "2", "samplesPerPixel": "1"}, "start"),
    ({"start": "0", "end": str(MAX_SPAN_S + 1), "samplesPerPixel": "4096"}, "end"),
    ({"start": str(DURATION_S), "end": str(DURATION_S + 1), "samplesPerPixel": "1"}, "start"),
    ({"start": "0", "end": str(MAX_SPAN_PIXELS / RATE + 0.1), "samplesPerPixel": "1"}, "samplesPerPixel"),
]


async def test_bad_parameters_are_400(server: WebServer, tmp_path: Path) -> None:
    asset_id, _ = await stored_version(tmp_path)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        for params, field in BAD_PARAMETERS:
            assert_error(await http.get(span_url(asset_id), params=params), 400, "invalid_parameter", field)


async def test_unknown_assets_versions_and_parameters(server: WebServer, tmp_path: Path) -> None:
    asset_id, _ = await stored_version(tmp_path)
    good = {"start": "1", "end": "2", "samplesPerPixel": "64"}
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        assert_error(await http.get(span_url(new_id()), params=good), 404, "not_found")
        assert_error(await http.get(span_url("not-an-id"), params=good), 404, "not_found")
        assert_error(await http.get(span_url(asset_id, 2), params=good), 404, "not_found")
        assert_error(await http.get(f"/api/audio/assets/{asset_id}/versions/x/peaks", params=good), 404, "not_found")
        assert_error(await http.get(span_url(asset_id), params={**good, "zoom": "2"}), 400, "unknown_parameter")
        repeated = await http.get(f"{span_url(asset_id)}?start=1&start=2&end=3&samplesPerPixel=64")
        assert_error(repeated, 400, "repeated_parameter")
        limits = (await http.get("/api/audio/peak-spans")).json()
        assert (limits["maxSpanSeconds"], limits["maxPixels"]) == (MAX_SPAN_S, MAX_SPAN_PIXELS)
        assert [field["name"] for field in limits["fields"]] == ["start", "end", "samplesPerPixel"]


async def test_a_master_that_does_not_decode_is_422_and_a_missing_one_404(server: WebServer, tmp_path: Path) -> None:
    garbage_id, _ = await stored_version(tmp_path, master_bytes=np.random.default_rng(7).bytes(300_000))
    asset_id, _ = await stored_version(tmp_path)
    versions = await (await get_job_store()).get_asset_versions(asset_id)
    master_key = media.key_of_media_url(versions[0].info["audioUrl"])
    assert master_key is not None
    await (await get_media_store()).delete(master_key)
    good = {"start": "1", "end": "2", "samplesPerPixel": "64"}
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        assert_error(await http.get(span_url(garbage_id), params=good), 422, "corrupt_media")
        assert_error(await http.get(span_url(asset_id), params=good), 404, "not_found")
        # The web process is still well.
        assert (await http.get("/healthz")).status_code == 200


ABANDONED = re.compile(
    r"span peaks of asset (\w+) version 1 abandoned, the client went away: frames (\d+)-(\d+) at (\d+) per pixel, "
    r"stopped after decoding (\d+)"
)
LOG_WAIT_S = 60.0


def abandon_request(server: WebServer, path: str) -> None:
    """Sends a GET and closes its side of the connection in the same segment (corked: the request's bytes and the
    FIN leave together), so the server learns that the client has gone as it reads the request, not at some moment
    of the decode that a loaded machine would make a race."""
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        connection.shutdown(socket.SHUT_WR)


async def abandoned_lines(server: WebServer, count: int) -> list[re.Match[str]]:
    """The first ``count`` abandoned-span lines of the server's log, once there are that many."""
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + LOG_WAIT_S
    while True:
        found = list(ABANDONED.finditer(server.log()))
        if len(found) >= count:
            return found[:count]
        if loop.time() > give_up_at:
            raise AssertionError(f"{len(found)} abandoned span(s) logged, expected {count}:\n{server.log()[-3000:]}")
        await asyncio.sleep(0.05)


async def test_a_span_whose_client_has_gone_stops_decoding_and_is_not_kept(server: WebServer, tmp_path: Path) -> None:
    asset_id, stored = await stored_version(tmp_path)
    query = f"start=100&end={100 + MAX_SPAN_S:g}&samplesPerPixel=128"
    path = f"{span_url(asset_id)}?{query}"
    span_frames = int(MAX_SPAN_S * RATE)
    abandon_request(server, path)
    (first,) = await abandoned_lines(server, 1)
    assert first.group(1) == asset_id
    assert (int(first.group(2)), int(first.group(3)), int(first.group(4))) == (
        100 * RATE,
        100 * RATE + span_frames,
        128,
    )
    assert int(first.group(5)) < span_frames
    # Nothing was kept of it: the same span abandoned again is decoded (and stopped) again.
    abandon_request(server, path)
    await abandoned_lines(server, 2)
    # Answered whole once asked for properly, beside another span: the abandoned decodes hold no slot.
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        answers = await asyncio.gather(
            http.get(path), http.get(f"{span_url(asset_id)}?start=0&end=1&samplesPerPixel=64")
        )
    assert [answer.status_code for answer in answers] == [200, 200]
    document = answers[0].json()
    assert (document["start_frame"], document["length"]) == (100 * RATE, span_frames // 128)
    pixels = np.array(document["data"]).reshape(-1, 2, 2)
    np.testing.assert_allclose(
        pixels[:, 0, 1], stored[100 * RATE : 100 * RATE + span_frames, 0].reshape(-1, 128).max(axis=1), atol=1
    )
