"""Through a real ``python -m workers`` process on each media store (the S3 one a real SeaweedFS): a context preview
reads the master where it lies. On S3 a preview without repairs reads the master in byte ranges, never
downloading it whole: the worker logs the bytes it fetched (a small fraction of the master's size). One with repairs,
which learn from windows sampled over the whole recording, downloads it: in ranges that is hundreds of round trips.
Either way the result (segments, duration, loudness, repair notes) is the one the same preview gives from a
downloaded copy of the master. A missing master is still ``media_missing``, and a preview read in ranges stops at
its next ``check_cancel``."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from common.audio.editing import preview_edits
from common.edits import PREVIEW_CONTEXT, parse_edit_list
from common.errors import JobCancelled, MediaError
from common.ids import new_id
from common.jobs import AssetVersion, JobStatus, get_job_store
from common.media import key_of_media_url, media_url
from common.media_store import get_media_store
from tests.support.audio_samples import speech_like, write_audio
from tests.support.ingest import ingest_recording
from tests.support.worker_process import WorkerStarter, is_finished, wait_for_job
from workers.payloads import fetch_master, find_version

RATE = 44100
SECONDS = 1200
PLAIN = [
    {"op": "cut", "start": 300, "end": 310},
    {"op": "gain", "db": -6, "start": 700, "end": 720},
    {"op": "normalize", "targetLufs": -16},
]
REPAIRS = [{"op": "highpass"}, {"op": "denoise"}, {"op": "level"}, *PLAIN[:-1]]
RANGED_LOG = re.compile(r"job (\w+): read (\d+) of the master's (\d+) bytes in (\d+) ranged reads")

pytestmark = pytest.mark.slow


def _ignore(*_: object) -> None:
    return None


async def _reference(asset_id: str, edits: list[dict[str, Any]], folder: Path) -> dict[str, Any]:
    """What the same context preview gives from a downloaded copy of the master, in this process."""
    master = await fetch_master(await find_version(asset_id, 1), folder)
    assert isinstance(master.path, Path)
    preview = preview_edits(
        master,
        parse_edit_list(edits, master.frames / master.sample_rate),
        folder / "preview",
        mode=PREVIEW_CONTEXT,
        on_progress=_ignore,
        check_cancel=_ignore,
    )
    return {
        "durationSec": preview.duration_s,
        "segments": preview.segments_json(),
        "loudness": preview.loudness.to_json(),
        "repairNotes": [note.to_json() for note in preview.repair_notes],
    }


async def test_a_context_preview_reads_the_master_in_ranges_on_s3(
    media_env: str, tmp_path: Path, start_worker: WorkerStarter
) -> None:
    store = await get_job_store()
    worker = start_worker(handlers="workers.handlers")
    source = write_audio(tmp_path / "talk.flac", speech_like(SECONDS, rate=RATE), rate=RATE, kind="flac")
    ingested = await ingest_recording(source)
    asset_id = ingested["assetId"]
    jobs = {}
    for name, edits in (("plain", PLAIN), ("repairs", REPAIRS)):
        job, _ = await store.create_job(
            "edit.preview", {"assetId": asset_id, "version": 1, "edits": edits, "preview": "context"}
        )
        jobs[name] = job.id
    for name, job_id in jobs.items():
        previewed = await wait_for_job(store, job_id, is_finished, timeout_s=180)
        assert previewed.status is JobStatus.COMPLETED, (name, previewed.error, worker.log())
        assert previewed.result is not None
        assert previewed.result["mode"] == "context"
        edits = PLAIN if name == "plain" else REPAIRS
        expected = await _reference(asset_id, edits, tmp_path / name)
        assert {key: previewed.result[key] for key in expected} == expected, name
        if name == "repairs":
            assert [note["op"] for note in expected["repairNotes"]] == ["denoise", "level"]

    reads = {match[1]: match for match in RANGED_LOG.finditer(worker.log())}
    if media_env == "local":
        # The local store's own file is read where it lies: nothing is fetched.
        assert reads == {}
        return
    # Only the preview without repairs read in ranges.
    assert set(reads) == {jobs["plain"]}, worker.log()
    size = await _size_bytes(ingested["audioUrl"])
    _, fetched, master_size, _ = reads[jobs["plain"]].groups()
    assert int(master_size) == size
    # A download would fetch the whole master; the excerpts take a small part of it.
    assert 0 < int(fetched) < size * 0.15, (fetched, size)


async def _size_bytes(url: str) -> int:
    key = key_of_media_url(url)
    assert key is not None
    return (await (await get_media_store()).head(key)).size_bytes


async def test_a_missing_master_is_media_missing_when_read_in_place(media_env: str, tmp_path: Path) -> None:
    version = AssetVersion(
        new_id(),
        1,
        new_id(),
        datetime.now(UTC),
        {
            "audioUrl": media_url(f"assets/{new_id()}/v1/{new_id()}/master.flac"),
            "sampleRate": RATE,
            "channels": 1,
            "frames": RATE,
        },
    )
    with pytest.raises(MediaError) as raised:
        await fetch_master(version, tmp_path / "scratch", in_place=True, ranged=True)
    assert raised.value.code == "media_missing"
    assert not (tmp_path / "scratch").exists()


async def test_a_context_preview_read_in_ranges_stops_when_cancelled(media_env: str, tmp_path: Path) -> None:
    media = await get_media_store()
    key = f"assets/{new_id()}/v1/{new_id()}/master.flac"
    seconds = 120
    master_file = write_audio(tmp_path / "master.flac", speech_like(seconds, rate=16000), rate=16000, kind="flac")
    await media.put_file(key, master_file)
    info = {"audioUrl": media_url(key), "sampleRate": 16000, "channels": 1, "frames": seconds * 16000}
    version = AssetVersion(new_id(), 1, new_id(), datetime.now(UTC), info)
    master = await fetch_master(version, tmp_path, in_place=True, ranged=True)
    assert isinstance(master.path, Path) == (media_env == "local")
    checks = 0

    def check_cancel() -> None:
        nonlocal checks
        checks += 1
        if checks > 3:
            raise JobCancelled("the job was cancelled")

    edits = parse_edit_list([*REPAIRS[:2], {"op": "cut", "start": 30, "end": 40}], seconds)
    with pytest.raises(JobCancelled):
        await asyncio.to_thread(
            preview_edits,
            master,
            edits,
            tmp_path / "preview",
            mode=PREVIEW_CONTEXT,
            on_progress=_ignore,
            check_cancel=check_cancel,
        )
    assert checks == 4
