"""``GET /media/...``: whole files, byte ranges, content types, peaks zoom levels, and nothing outside MEDIA_ROOT."""

from __future__ import annotations

import http.client
import json
import os
from pathlib import Path

import httpx
import pytest

from common.config import media_root
from common.ids import new_id
from tests.support.media_files import asset_job_dir, media_url, render_dir, upload_path
from tests.support.web_server import WebServer
from tests.web.helpers import assert_error

AUDIO = os.urandom(300_000)


def write(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return media_url(path)


CONTENT_TYPES = {
    "master.flac": "audio/flac",
    "out.mp3": "audio/mpeg",
    "out.m4a": "audio/mp4",
    "out.opus": "audio/ogg",
    "out.wav": "audio/wav",
    "peaks.json": "application/json",
    "unknown.xyz": "application/octet-stream",
}


@pytest.mark.over_http
async def test_whole_files_with_their_content_types(client: httpx.AsyncClient) -> None:
    folder = render_dir(new_id())
    for name, content_type in CONTENT_TYPES.items():
        url = write(folder / name, AUDIO)
        # As stored: peaks would otherwise be gzipped (see the test of that below).
        response = await client.get(url, headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200
        assert response.content == AUDIO
        assert response.headers["content-type"].split(";")[0] == content_type, name
        assert response.headers["accept-ranges"] == "bytes"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert int(response.headers["content-length"]) == len(AUDIO)
        head = await client.head(url)
        assert head.status_code == 200
        assert head.content == b""


@pytest.mark.over_http
async def test_byte_ranges_are_206(client: httpx.AsyncClient) -> None:
    url = write(asset_job_dir(new_id(), new_id()) / "master.flac", AUDIO)
    first = await client.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206
    assert first.content == AUDIO[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{len(AUDIO)}"
    assert first.headers["content-type"] == "audio/flac"
    middle = await client.get(url, headers={"Range": "bytes=1000-"})
    assert middle.status_code == 206
    assert middle.content == AUDIO[1000:]
    suffix = await client.get(url, headers={"Range": "bytes=-500"})
    assert suffix.status_code == 206
    assert suffix.content == AUDIO[-500:]
    past_end = await client.get(url, headers={"Range": f"bytes=100-{len(AUDIO) * 2}"})
    assert past_end.status_code == 206
    assert past_end.content == AUDIO[100:]
    several = await client.get(url, headers={"Range": "bytes=0-9, 20-29"})
    assert several.status_code == 206
    assert several.headers["content-type"].startswith("multipart/byteranges")
    assert AUDIO[0:10] in several.content
    assert AUDIO[20:30] in several.content


@pytest.mark.over_http
async def test_bad_ranges_are_json_errors(client: httpx.AsyncClient) -> None:
    url = write(render_dir(new_id()) / "out.mp3", AUDIO)
    response = await client.get(url, headers={"Range": f"bytes={len(AUDIO)}-"})
    assert_error(response, 416, "range_not_satisfiable")
    assert response.headers["content-range"] == f"bytes */{len(AUDIO)}"
    assert_error(await client.get(url, headers={"Range": "lines=1-2"}), 400, "invalid_range")
    assert_error(await client.get(url, headers={"Range": "bytes=9-3"}), 400, "invalid_range")


async def test_download_asks_the_browser_to_save(client: httpx.AsyncClient) -> None:
    url = write(render_dir(new_id()) / "episode.mp3", AUDIO)
    response = await client.get(url, params={"download": "1"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"episode.mp3\"; filename*=UTF-8''episode.mp3"
    )
    plain = await client.get(url, params={"download": "0"})
    assert "content-disposition" not in plain.headers
    assert_error(await client.get(url, params={"download": "yes"}), 400, "invalid_parameter", "download")
    assert_error(await client.get(url, params={"dl": "1"}), 400, "unknown_parameter", "dl")


async def test_peaks_at_a_coarser_zoom_level(client: httpx.AsyncClient) -> None:
    stored = {
        "version": 2,
        "channels": 2,
        "sample_rate": 48000,
        "samples_per_pixel": 256,
        "bits": 8,
        "length": 3,
        "data": [-10, 10, -1, 1, -20, 5, -2, 30, -3, 3, -4, 4],
    }
    url = write(asset_job_dir(new_id(), new_id()) / "peaks.json", json.dumps(stored).encode())
    whole = await client.get(url)
    assert whole.json() == stored
    coarse = await client.get(url, params={"samplesPerPixel": "512"})
    assert coarse.status_code == 200
    body = coarse.json()
    assert body["samples_per_pixel"] == 512
    assert body["length"] == 2
    assert body["channels"] == 2
    assert body["data"] == [-20, 10, -2, 30, -3, 3, -4, 4]
    for bad in ("300", "0", "-256", "abc", "1e3"):
        response = await client.get(url, params={"samplesPerPixel": bad})
        assert_error(response, 400, "invalid_parameter", "samplesPerPixel")
    audio_url = write(render_dir(new_id()) / "out.mp3", AUDIO)
    response = await client.get(audio_url, params={"samplesPerPixel": "512"})
    assert_error(response, 400, "invalid_parameter", "samplesPerPixel")


async def test_nothing_outside_media_root_or_in_uploads_is_served(client: httpx.AsyncClient, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not serve")
    root = media_root()
    root.mkdir(parents=True, exist_ok=True)
    (root / "assets").mkdir(exist_ok=True)
    (root / "assets" / "link.txt").symlink_to(secret)
    (root / "assets" / "dirlink").symlink_to(tmp_path, target_is_directory=True)
    upload = upload_path(new_id())
    write(upload, AUDIO)
    attempts = [
        "/media/../secret.txt",
        "/media/%2e%2e/secret.txt",
        "/media/%2e%2e%2fsecret.txt",
        "/media/..%2fsecret.txt",
        "/media/assets/../../secret.txt",
        "/media/assets/%2e%2e/%2e%2e/secret.txt",
        "/media//etc/passwd",
        "/media/%2fetc%2fpasswd",
        f"/media/{tmp_path}/secret.txt",
        "/media/assets/link.txt",
        "/media/assets/dirlink/secret.txt",
        f"/media/uploads/{upload.name}",
        "/media/assets",
        "/media/",
        "/media/x%00y",
        "/media/" + "a/" * 300,
    ]
    for path in attempts:
        response = await client.get(path)
        assert response.status_code == 404, (path, response.status_code, response.text)
        assert b"do not serve" not in response.content
        assert response.content != AUDIO
        assert response.headers["content-type"].startswith("application/json")


async def test_missing_media_is_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(f"/media/renders/{new_id()}/out.mp3"), 404, "not_found")


def test_raw_traversal_paths_over_real_http(web_server: WebServer, tmp_path: Path) -> None:
    """Sent byte for byte (no client-side URL normalisation): the server itself must refuse them."""
    secret = tmp_path / "secret.txt"
    secret.write_text("do not serve")
    inside = write(render_dir(new_id()) / "ok.mp3", AUDIO)
    relative_secret = os.path.relpath(secret, media_root())
    attempts = [
        f"/media/{relative_secret}",
        "/media/" + relative_secret.replace("..", "%2e%2e"),
        "/media/" + relative_secret.replace("/", "%2f"),
        f"/media/renders/../{relative_secret}",
        f"/media/%2f{str(secret).lstrip('/')}",
    ]
    connection = http.client.HTTPConnection("127.0.0.1", web_server.port, timeout=10)
    try:
        connection.request("GET", inside)
        response = connection.getresponse()
        assert response.status == 200
        assert response.read() == AUDIO
        for path in attempts:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            assert response.status == 404, (path, response.status, body)
            assert b"do not serve" not in body
    finally:
        connection.close()


async def test_download_names_keep_accented_letters_beside_an_ascii_fallback(client: httpx.AsyncClient) -> None:
    url = write(render_dir(new_id()) / "ünïcødé-talk.mp3", AUDIO)
    response = await client.get(url, params={"download": "1"})
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    utf8_name = "%C3%BCn%C3%AFc%C3%B8d%C3%A9-talk.mp3"
    assert disposition == f"attachment; filename=\"unicde-talk.mp3\"; filename*=UTF-8''{utf8_name}"


async def test_peaks_are_sent_gzipped_to_a_client_that_accepts_it(client: httpx.AsyncClient) -> None:
    pixels = 20_000
    stored = {
        "version": 2,
        "channels": 1,
        "sample_rate": 48000,
        "samples_per_pixel": 256,
        "bits": 8,
        "length": pixels,
        "data": [value for pixel in range(pixels) for value in (-(pixel % 100), pixel % 90)],
    }
    raw = json.dumps(stored).encode()
    url = write(asset_job_dir(new_id(), new_id()) / "peaks.json", raw)
    for params in ({}, {"samplesPerPixel": "512"}):
        compressed = await client.get(url, params=params, headers={"Accept-Encoding": "gzip"})
        assert compressed.status_code == 200
        assert compressed.headers["content-encoding"] == "gzip"
        assert "accept-encoding" in compressed.headers["vary"].lower()
        # httpx undoes the gzip: the document is the same, the bytes on the wire far fewer.
        assert compressed.json()["length"] == (pixels if not params else pixels // 2)
        assert compressed.num_bytes_downloaded < len(compressed.content) / 3
        plain = await client.get(url, params=params, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.json() == compressed.json()
    # A ranged read gets the stored bytes, and audio is never compressed.
    ranged = await client.get(url, headers={"Accept-Encoding": "gzip", "Range": "bytes=0-99"})
    assert ranged.status_code == 206
    assert ranged.content == raw[:100]
    audio_url = write(render_dir(new_id()) / "out.wav", AUDIO * 100)
    audio = await client.get(audio_url, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in audio.headers
