"""A worker whose output does not fit: a real ``python -m workers`` process writing into a real full disk (a small
tmpfs as its scratch folder, or as ``MEDIA_ROOT``) or past ``MEDIA_MAX_BYTES`` (on a local folder and on a real
SeaweedFS bucket). The attempt fails with ``storage_full``, the job is queued again while attempts remain, the run's
partial output (its own prefix) and scratch files are removed, and once there is room a later attempt completes."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.jobs import Job, JobStatus, JobStore, get_job_store
from common.media import job_prefixes, key_of_media_url
from common.media_store import MediaStore, close_media_store, get_media_store
from tests.support.audio_samples import speech_like, write_audio
from tests.support.filesystems import mounted_tmpfs, resize_tmpfs
from tests.support.ingest import queue_ingest
from tests.support.s3_media import new_bucket, use_s3
from tests.support.seaweedfs import SeaweedFSServer
from tests.support.worker_process import WorkerProcess, WorkerStarter, is_finished, wait_for_job

MIB = 1024 * 1024
#: Long enough that a test sees the job queued between attempts, short enough to wait for.
RETRY_ENV = {"WORKER_RETRY_BASE_S": "3", "WORKER_RETRY_MAX_S": "3"}
JOB_TIMEOUT_S = 120.0


def waiting_to_retry(job: Job) -> bool:
    return job.status is JobStatus.QUEUED and job.error is not None


async def keys_of_job(media: MediaStore, job: Job) -> list[str]:
    prefixes = job_prefixes(job.payload.get("assetId"), job.id)
    return sorted([info.key for prefix in prefixes async for info in media.list_objects(prefix)])


async def assert_retried_for_lack_of_space(store: JobStore, job: Job, worker: WorkerProcess) -> Job:
    failed = await wait_for_job(store, job.id, waiting_to_retry, timeout_s=JOB_TIMEOUT_S)
    assert failed.error is not None
    assert failed.error.code == "storage_full", (failed.error, worker.log())
    assert failed.attempts == 1
    assert f"job {job.id} failed, will retry" in worker.log()
    assert await keys_of_job(await get_media_store(), failed) == []
    return failed


async def test_an_ingest_that_fills_its_scratch_disk_is_retried_once_there_is_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_worker: WorkerStarter
) -> None:
    """The real ingest handler: the MP3 upload fits in the 1 MiB scratch folder, its FLAC master does not."""
    with mounted_tmpfs(tmp_path / "scratch", MIB) as scratch:
        monkeypatch.setenv("WORKER_SCRATCH_DIR", str(scratch))
        source = write_audio(tmp_path / "take.mp3", speech_like(40.0), rate=44100, kind="mp3", bitrate_kbps=64)
        assert source.stat().st_size < MIB / 2
        store, media = await get_job_store(), await get_media_store()
        job = await queue_ingest(source, title="Take", max_attempts=5)
        worker = start_worker(env=RETRY_ENV, handlers="workers.handlers")

        await assert_retried_for_lack_of_space(store, job, worker)
        assert list(scratch.iterdir()) == []
        resize_tmpfs(scratch, 64 * MIB)
        done = await wait_for_job(store, job.id, is_finished, timeout_s=JOB_TIMEOUT_S)
        assert done.status is JobStatus.COMPLETED, (done.error, worker.log())
        assert done.attempts >= 2
        assert list(scratch.iterdir()) == []
        worker.stop()
    assert await media.used_bytes() == sum([info.size_bytes async for info in media.list_objects()])


async def test_a_full_media_disk_removes_the_runs_stored_output_and_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_worker: WorkerStarter
) -> None:
    """``MEDIA_ROOT`` on a 2 MiB tmpfs: the run's first output is stored, its second does not fit."""
    with mounted_tmpfs(tmp_path / "media", 2 * MIB) as media_root:
        monkeypatch.setenv("MEDIA_ROOT", str(media_root))
        store = await get_job_store()
        job, _ = await store.create_job("store_outputs", {"sizes": [MIB // 2, 3 * MIB]}, max_attempts=5)
        worker = start_worker(env=RETRY_ENV)
        await assert_retried_for_lack_of_space(store, job, worker)
        media = await get_media_store()
        assert await media.used_bytes() == 0
        assert [path.name for path in media_root.rglob("*") if path.is_file()] == [".media-store-id"]

        resize_tmpfs(media_root, 16 * MIB)
        await assert_completes_with_only_its_output(store, job, worker)


@pytest.mark.parametrize("backend", ["local", "s3"])
async def test_output_past_media_max_bytes_is_storage_full_until_the_limit_allows_it(
    backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, start_worker: WorkerStarter
) -> None:
    if backend == "s3":
        server: SeaweedFSServer = request.getfixturevalue("seaweedfs")
        use_s3(monkeypatch, server, new_bucket(server))
    monkeypatch.setenv("MEDIA_MAX_BYTES", str(2 * MIB))
    store = await get_job_store()
    job, _ = await store.create_job("store_outputs", {"sizes": [MIB // 2, 3 * MIB]}, max_attempts=5)
    worker = start_worker(env=RETRY_ENV)
    await assert_retried_for_lack_of_space(store, job, worker)
    worker.stop()
    assert await (await get_media_store()).used_bytes() == 0

    # An operator raises the limit: the next worker's attempt fits.
    monkeypatch.setenv("MEDIA_MAX_BYTES", str(8 * MIB))
    await close_media_store()
    await assert_completes_with_only_its_output(store, job, start_worker(env=RETRY_ENV))


async def assert_completes_with_only_its_output(store: JobStore, job: Job, worker: WorkerProcess) -> None:
    done = await wait_for_job(store, job.id, is_finished, timeout_s=JOB_TIMEOUT_S)
    assert done.status is JobStatus.COMPLETED, (done.error, worker.log())
    assert done.attempts >= 2
    assert done.result is not None
    published = key_of_media_url(done.result["url"])
    media = await get_media_store()
    keys = await keys_of_job(media, done)
    # The completing run's two outputs; the failed runs' prefixes are gone.
    assert published in keys
    assert len(keys) == 2
    assert len({key.rsplit("/", 1)[0] for key in keys}) == 1
    assert await media.used_bytes() == MIB // 2 + 3 * MIB
    worker.stop()
