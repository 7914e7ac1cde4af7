"""Memory: a streaming put and a whole get hold a bounded part of the object, whatever its size. Each transfer runs
in a fresh process (reaching the store through ``get_media_store()`` as the application does) that reports its own
peak RSS; eight times the bytes must not cost more memory than a part or two."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.config import PROJECT_ROOT

SMALL_MIB = 32
LARGE_MIB = 256
#: Room for two s3 parts (8 MiB each) in flight, one being filled, and allocator slack.
GROWTH_LIMIT_MB = 40

# VmHWM is the child's own peak: ru_maxrss would carry over the parent's, which Linux keeps across fork and exec.
CHILD = """
import asyncio, json, os, re, sys
from pathlib import Path
from common.media_store import get_media_store

SIZE_MIB, SCRATCH = int(sys.argv[1]), Path(sys.argv[2])
CHUNK = os.urandom(64 * 1024)

async def body():
    for _ in range(SIZE_MIB * 16):
        await asyncio.sleep(0)
        yield CHUNK

async def main():
    store = await get_media_store()
    put = await store.put_stream(f"uploads/{SIZE_MIB}", body())
    got = await store.get_file(f"uploads/{SIZE_MIB}", SCRATCH)
    return put.size_bytes, got.size_bytes, SCRATCH.stat().st_size

sizes = asyncio.run(main())
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
print(json.dumps({"sizes": sizes, "rss_mb": peak_kb / 1024}))
"""


def _transfer(size_mib: int, scratch: Path) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(size_mib), str(scratch)],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.slow
async def test_streaming_put_and_whole_get_are_memory_bounded(media_env: str, tmp_path: Path) -> None:
    small = _transfer(SMALL_MIB, tmp_path / "small")
    large = _transfer(LARGE_MIB, tmp_path / "large")
    assert small["sizes"] == [SMALL_MIB * 2**20] * 3
    assert large["sizes"] == [LARGE_MIB * 2**20] * 3
    assert float(large["rss_mb"]) < float(small["rss_mb"]) + GROWTH_LIMIT_MB, (small, large)
