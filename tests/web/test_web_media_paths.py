"""``/media`` decides on the decoded, normalised path: no spelling of an upload's path serves the raw upload.

Sent byte for byte with ``http.client`` to a real ``python -m web`` (a client library would normalise them)."""

from __future__ import annotations

import http.client
import os

from common.config import media_root
from common.ids import new_id
from tests.support.media_files import asset_job_dir, media_url, preview_dir, render_dir, upload_path
from tests.support.web_server import WebServer

UPLOAD = b"raw client bytes " + os.urandom(1000)
SERVED = os.urandom(2000)


def get(server: WebServer, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_no_spelling_of_an_upload_path_serves_the_upload(web_server: WebServer) -> None:
    upload = upload_path(new_id())
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_bytes(UPLOAD)
    (media_root() / "assets").mkdir(exist_ok=True)
    (media_root() / "assets" / "uploads-link").symlink_to(upload.parent, target_is_directory=True)
    (media_root() / "stray.mp3").write_bytes(UPLOAD)
    name = upload.name
    attempts = [
        f"/media/uploads/{name}",
        f"/media/./uploads/{name}",
        f"/media/%2e/uploads/{name}",
        f"/media/%2E/uploads/{name}",
        f"/media/assets/%2e%2e/uploads/{name}",
        f"/media/assets/..%2fuploads/{name}",
        f"/media/assets%2f..%2fuploads%2f{name}",
        f"/media/assets/%2e%2e%2fuploads/{name}",
        f"/media/.%2fuploads/{name}",
        f"/media//uploads/{name}",
        f"/media/renders/x/../../uploads/{name}",
        f"/media/%252e%252e/uploads/{name}",
        f"/media/assets/%252e%252e/uploads/{name}",
        f"/media/assets/..%5cuploads%5c{name}",
        f"/media/assets\\..\\uploads\\{name}",
        f"/media/assets/%00/../uploads/{name}",
        f"/media/uploads%00/{name}",
        f"/media/assets/uploads-link/{name}",
        "/media/stray.mp3",
    ]
    for path in attempts:
        status, body = get(web_server, path)
        assert status in (400, 404), (path, status)
        assert UPLOAD not in body, path


def test_files_the_api_hands_out_are_still_served(web_server: WebServer) -> None:
    for folder, name in (
        (asset_job_dir(new_id(), new_id()), "master.flac"),
        (asset_job_dir(new_id(), new_id()), "peaks.json"),
        (preview_dir(new_id()), "preview.mp3"),
        (render_dir(new_id()), "out.mp3"),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(SERVED)
        assert get(web_server, media_url(folder / name)) == (200, SERVED)
