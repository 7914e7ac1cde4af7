"""A real small file system for tests of full disks: a tmpfs of a given size, mounted for the duration of a block
(the test is skipped where mounting is not permitted) and unmounted however the block ends."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def mounted_tmpfs(mount_point: Path, size_bytes: int) -> Iterator[Path]:
    mount_point.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def resize_tmpfs(mount_point: Path, size_bytes: int) -> None:
    """Give a mounted tmpfs more (or less) room, as an operator freeing space would."""
    subprocess.run(["mount", "-o", f"remount,size={size_bytes}", str(mount_point)], check=True)
