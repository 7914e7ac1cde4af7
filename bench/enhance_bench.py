"""The full enhancement chain beside the ``ffmpeg`` command line, measured on what users run.

    .venv/bin/python -m bench.enhance_bench [--minutes 60]

1. A speech-like mono master (44.1 kHz) of ``--minutes``, with white noise at -50 dBFS and 50 Hz hum with its
   harmonics mixed in, is uploaded into a temporary ``MEDIA_ROOT`` and ingested by a real ``python -m workers
   --burst`` process.
2. Ours: an ``edit.save`` job (denoise + dehum found in the audio + level) then a ``render`` job of the new version
   (``podcast`` preset: -16 LUFS, -1 dBTP, MP3 128 kbit/s), each run by a fresh ``python -m workers --burst``
   process; wall and CPU time are the two processes' together, start-up included; peak RSS is the larger one.
3. The reference, in the same run on the same master: ``ffmpeg -af afftdn,bandreject (50 Hz and 7 harmonics),
   dynaudnorm,loudnorm=I=-16:TP=-1`` + libmp3lame at the same bitrate (single-pass ``loudnorm``, the ffmpeg way to a
   loudness target in one run; it does not promise to land on it).
4. Both files are decoded back and measured by ffmpeg's ``ebur128`` (integrated loudness, true peak), and the
   hum left at 50 Hz is compared.

Figures depend on the machine's load: compare the ratio, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bench.export_bench import MP3_KBPS, RATE, Timing, load_average, media_file, row, run_job, timed
from common.ids import new_id
from common.jobs import JobType, close_job_store
from common.media import upload_key
from common.media_store import close_media_store, get_media_store
from common.render_options import parse_render_options, render_options_to_json
from tests.support.audio_samples import speech_like, write_audio

CHAIN = [{"op": "denoise"}, {"op": "dehum"}, {"op": "level"}]
NOISE_DB = -50.0
HUM_HZ = 50.0
HUM_DB = -40.0
HUM_HARMONICS = 8
FFMPEG_CHAIN = ",".join(
    [
        "afftdn=nr=18:tn=1",
        *(f"bandreject=f={HUM_HZ * harmonic:g}:width_type=q:w=25" for harmonic in range(1, HUM_HARMONICS + 1)),
        "dynaudnorm=f=500:g=7",
        "loudnorm=I=-16:TP=-1",
    ]
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the generated master")
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        raise SystemExit("this benchmark compares against the ffmpeg command: scripts/bootstrap --with-bench-packages")
    with tempfile.TemporaryDirectory(prefix="enhance-bench-") as folder:
        work = Path(folder)
        os.environ.update(
            {"JOB_STORE_BACKEND": "local", "JOB_STORE_PATH": str(work / "jobs.sqlite3"), "MEDIA_ROOT": str(work)}
        )
        asyncio.run(bench(work, args.minutes))


def noisy_speech(seconds: float) -> Iterator[np.ndarray]:
    """``speech_like`` with steady white noise and mains hum added, chunk by chunk."""
    rng = np.random.default_rng(3)
    position = 0
    for chunk in speech_like(seconds, rate=RATE):
        t = (position + np.arange(len(chunk))) / RATE
        hum = sum(
            math.sqrt(2) * 10 ** ((HUM_DB - 4 * (harmonic - 1)) / 20) * np.sin(2 * np.pi * HUM_HZ * harmonic * t)
            for harmonic in range(1, HUM_HARMONICS + 1)
        )
        noise = rng.normal(0.0, 10 ** (NOISE_DB / 20), len(chunk))
        position += len(chunk)
        yield (chunk[:, 0] + hum + noise)[:, np.newaxis].astype(np.float32)


async def bench(work: Path, minutes: float) -> None:
    asset_id, upload_id = new_id(), new_id()
    started = time.perf_counter()
    source = work / "source.flac"
    write_audio(source, noisy_speech(minutes * 60), rate=RATE, kind="flac")
    await (await get_media_store()).put_file(upload_key(upload_id), source, consume=True)
    print(f"generated a {minutes:g}-minute noisy, humming master in {time.perf_counter() - started:.1f} s", flush=True)
    ingest = await run_job(
        work, JobType.INGEST, {"assetId": asset_id, "uploadId": upload_id, "filename": "talk.flac", "title": "bench"}
    )
    master = await media_file(ingest.result["audioUrl"])
    print(f"ingested by a worker process in {ingest.timing.wall_s:.1f} s", flush=True)
    print(f"load average at the start: {load_average()}\n", flush=True)

    edit = await run_job(work, JobType.EDIT_SAVE, {"assetId": asset_id, "version": 1, "edits": CHAIN})
    options = render_options_to_json(parse_render_options({"format": "mp3", "preset": "podcast"}))
    render = await run_job(work, JobType.RENDER, {"assetId": asset_id, "version": 2, **options})
    ours_file = await media_file(render.result["url"])
    ours = Timing(edit.timing.wall_s + render.timing.wall_s, edit.timing.cpu_s + render.timing.cpu_s)
    print(f"edit.save (denoise + dehum + level): {edit.timing.wall_s:.1f} s wall, {edit.peak_rss_mb:.0f} MB")
    print(f"render (podcast MP3): {render.timing.wall_s:.1f} s wall, {render.peak_rss_mb:.0f} MB", flush=True)

    reference_file = work / "reference.mp3"
    encoder = ["-ar", str(RATE), "-c:a", "libmp3lame", "-b:a", f"{MP3_KBPS}k", str(reference_file)]
    ffmpeg = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(master)]
    reference = timed([*ffmpeg, "-af", FFMPEG_CHAIN, *encoder])
    print(f"\n{minutes:g}-minute master: denoise + dehum + level + -16 LUFS / -1 dBTP + MP3 {MP3_KBPS} kbit/s")
    print(f"{'':44}{'wall s':>8}{'CPU s':>8}{'RSS MB':>8}{'LUFS':>8}{'dBTP':>8}")
    print(
        row("ours: edit.save + render, python -m workers", ours, max(edit.peak_rss_mb, render.peak_rss_mb), ours_file)
    )
    print(row("ffmpeg: afftdn+bandreject+dynaudnorm+loudnorm", reference, None, reference_file))
    print(f"ratio ours / ffmpeg: wall {ours.wall_s / reference.wall_s:.2f} (goal <= 1.2), ", end="")
    print(f"CPU {ours.cpu_s / reference.cpu_s:.2f}")
    print(f"our compliance report: passed={render.result['compliance']['passed']}")
    print(f"load average at the end: {load_average()}")
    await close_job_store()
    await close_media_store()


if __name__ == "__main__":
    main()
