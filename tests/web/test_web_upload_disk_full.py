"""An upload into a MEDIA_ROOT with no room left: 507 with a JSON error, and no partial file stays behind.

MEDIA_ROOT is a real 1 MiB tmpfs mounted for the test (skipped where mounting is not permitted); the client
fixture runs the app in process and as a real ``python -m web``."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import pytest

from common.jobs import JobStore
from common.media_store.local import LocalMediaStore
from tests.support.media_files import upload_path
from tests.web.conftest import in_process_client
from tests.web.helpers import assert_error

TINY_FS_BYTES = 1024 * 1024


@pytest.fixture
def tiny_media_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TINY_FS_BYTES}", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    monkeypatch.setenv("MEDIA_ROOT", str(mount_point))
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


# ``tiny_media_root`` comes before ``client`` so the app or server the client starts uses it.
async def test_disk_full_during_an_upload_is_507_and_leaves_nothing(
    tiny_media_root: Path, client: httpx.AsyncClient, store: JobStore
) -> None:
    too_big = os.urandom(2 * TINY_FS_BYTES)
    response = await client.post("/api/audio/ingest", files={"file": ("big.wav", too_big, "audio/wav")})
    assert_error(response, 507, "insufficient_storage")
    assert list((tiny_media_root / "uploads").iterdir()) == []
    assert await store.list_jobs() == []
    fits = await client.post("/api/audio/ingest", files={"file": ("small.wav", os.urandom(1000), "audio/wav")})
    assert fits.status_code == 202, fits.text
    assert len(list((tiny_media_root / "uploads").iterdir())) == 1


async def test_no_space_injected_at_the_write_is_507_and_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same through a seam, for machines where a tmpfs cannot be mounted: the disk fills half-way through
    the media store's first write, as a real one would, leaving a partial file."""
    real_open = LocalMediaStore._open_for_writing
    partial_paths: list[Path] = []

    class FillingFile:
        def __init__(self, file: BinaryIO) -> None:
            self.file = file

        def write(self, data: bytes) -> int:
            self.file.write(data[: len(data) // 2])
            self.file.flush()
            partial_paths.append(Path(self.file.name))
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name: str) -> Any:
            return getattr(self.file, name)

    def open_filling(store: LocalMediaStore, key: str) -> tuple[Path, Path, Any]:
        path, temporary, file = real_open(store, key)
        return path, temporary, FillingFile(file)

    monkeypatch.setattr(LocalMediaStore, "_open_for_writing", open_filling)
    async with in_process_client() as client:
        response = await client.post("/api/audio/ingest", files={"file": ("big.wav", os.urandom(4 * 1024 * 1024))})
    assert_error(response, 507, "insufficient_storage")
    assert len(partial_paths) == 1
    assert not partial_paths[0].exists()
    assert list(upload_path("x").parent.iterdir()) == []
