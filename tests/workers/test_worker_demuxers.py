"""Uploads that FFmpeg would open as a script of other inputs (an ``ffconcat`` list, an HLS playlist) are refused
before anything they name is read: the real ingest handler run by a worker in this process, on the local store."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.ids import new_id
from common.jobs import JobStatus, get_job_store
from tests.support.audio_samples import sine, write_audio
from tests.support.media_files import upload_path
from workers.dispatch import load_handlers
from workers.settings import WorkerSettings
from workers.worker import Worker


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port that records connection attempts without answering them."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        server.setblocking(False)
        yield server


def was_connected(server: socket.socket) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


async def ingest_upload(content: str) -> tuple[JobStatus, str | None]:
    upload_id = new_id()
    path = upload_path(upload_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    store = await get_job_store()
    payload = {"assetId": new_id(), "uploadId": upload_id, "filename": "talk.wav", "title": "t"}
    job, _ = await store.create_job("ingest", payload)
    worker = Worker(WorkerSettings(retry_base_s=0.01, retry_max_s=0.01), load_handlers("workers.handlers"))
    await asyncio.wait_for(worker.run(burst=True), 60)
    done = await store.get_job(job.id)
    assert done is not None
    return done.status, None if done.error is None else done.error.code


@pytest.mark.parametrize("relative", [True, False])
async def test_an_ffconcat_script_naming_another_upload_is_refused(relative: bool) -> None:
    # FFmpeg resolves a relative name against the upload's own folder, where other clients' uploads are.
    other = upload_path(new_id())
    other.parent.mkdir(parents=True, exist_ok=True)
    write_audio(other, sine(2.0, rate=16000), rate=16000, kind="wav")
    named = other.name if relative else str(other)
    status, code = await ingest_upload(f"ffconcat version 1.0\nfile '{named}'\n")
    assert (status, code) == (JobStatus.FAILED, "unsupported_media")


async def test_an_hls_playlist_naming_a_file_and_a_url_is_refused_without_a_connection(
    tmp_path: Path, listener: socket.socket
) -> None:
    secret = write_audio(tmp_path / "secret.wav", sine(2.0, rate=16000), rate=16000, kind="wav")
    port = listener.getsockname()[1]
    playlist = (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:10.0,\nfile://{secret}\n#EXTINF:10.0,\nhttp://127.0.0.1:{port}/segment.ts\n#EXT-X-ENDLIST\n"
    )
    status, code = await ingest_upload(playlist)
    assert (status, code) == (JobStatus.FAILED, "unsupported_media")
    assert not was_connected(listener)
