"""Export speed beside the ``ffmpeg`` command line, measured on what users run.

    .venv/bin/python -m bench.export_bench [--minutes 60] [--skip-flac]

1. A speech-like mono master (44.1 kHz) of ``--minutes`` is generated, uploaded into a temporary ``MEDIA_ROOT``
   and ingested by a real ``python -m workers --burst`` process from an ``ingest`` job, as the web queues it.
2. Ours: a ``render`` job (``podcast`` preset, MP3) queued in the store and run by a fresh ``python -m workers
   --burst`` process; the wall time is that process's, start-up included, and its peak RSS is sampled.
3. The reference, in the same run on the same master: ``ffmpeg -af volume=G dB,alimiter=limit=L:level=false``
   + libmp3lame at the same bitrate and rate, with G the gap from the version's stored loudness to -16 LUFS and L
   the -1.5 dBTP our limiter holds lossy files at (Debian's ``ffmpeg``: ``scripts/bootstrap
   --with-bench-packages``). It keeps no promise about its result; ours must land within 0.5 LU and under -1 dBTP.
   Beside them, the floor: our MP3 writer (LAME through ``lameenc``) alone on the decoded master, in a fresh
   process.
4. The files are decoded back and measured by ffmpeg's ``ebur128`` (true peak on): integrated loudness, true peak.
5. The FLAC export with no preset, the same way (unless ``--skip-flac``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from common.audio.encode import open_writer
from common.audio.render import LOSSY_PEAK_MARGIN_DB
from common.audio.source import open_source
from common.config import PROJECT_ROOT
from common.ids import new_id
from common.jobs import JobStatus, JobType, close_job_store, get_job_store
from common.media import key_of_media_url, upload_key
from common.media_store import close_media_store, get_media_store
from common.render_options import PRESET_TARGETS, parse_render_options, render_options_to_json
from tests.support.audio_samples import speech_like, write_audio

RATE = 44100
MP3_KBPS = 128
RSS_SAMPLE_S = 0.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the generated master")
    parser.add_argument("--skip-flac", action="store_true", help="leave out the FLAC export")
    parser.add_argument("--encode-only", nargs=2, metavar=("MASTER", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.encode_only:
        encode_only(Path(args.encode_only[0]), Path(args.encode_only[1]))
        return
    if shutil.which("ffmpeg") is None:
        raise SystemExit("this benchmark compares against the ffmpeg command: scripts/bootstrap --with-bench-packages")
    with tempfile.TemporaryDirectory(prefix="export-bench-") as folder:
        work = Path(folder)
        os.environ.update(
            {"JOB_STORE_BACKEND": "local", "JOB_STORE_PATH": str(work / "jobs.sqlite3"), "MEDIA_ROOT": str(work)}
        )
        asyncio.run(bench(work, args.minutes, flac=not args.skip_flac))


async def bench(work: Path, minutes: float, *, flac: bool) -> None:
    asset_id = new_id()
    upload_id = new_id()
    started = time.perf_counter()
    source = work / "source.flac"
    write_audio(source, speech_like(minutes * 60, rate=RATE), rate=RATE, kind="flac")
    await (await get_media_store()).put_file(upload_key(upload_id), source, consume=True)
    print(f"generated a {minutes:g}-minute speech-like master in {time.perf_counter() - started:.1f} s", flush=True)
    ingest = await run_job(
        work, JobType.INGEST, {"assetId": asset_id, "uploadId": upload_id, "filename": "speech.flac", "title": "bench"}
    )
    master = await media_file(ingest.result["audioUrl"])
    stored_lufs = float(ingest.result["loudness"]["integratedLufs"])
    print(f"ingested by a worker process in {ingest.timing.wall_s:.1f} s: {stored_lufs:.2f} LUFS stored", flush=True)
    print(f"load average at the start: {load_average()}\n")

    ours = await run_job(work, JobType.RENDER, render_payload(asset_id, "mp3", "podcast"))
    ours_file = await media_file(ours.result["url"])
    targets = PRESET_TARGETS["podcast"]
    if targets.integrated_lufs is None or targets.true_peak_db is None:
        raise RuntimeError("the podcast preset has no loudness or peak target")
    reference_file = work / "reference.mp3"
    limit = 10 ** ((targets.true_peak_db - LOSSY_PEAK_MARGIN_DB) / 20)
    chain = f"volume={targets.integrated_lufs - stored_lufs:.2f}dB,alimiter=limit={limit:.4f}:level=false"
    encoder = ["-ar", str(RATE), "-c:a", "libmp3lame", "-b:a", f"{MP3_KBPS}k", str(reference_file)]
    reference = timed(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(master), "-af", chain, *encoder]
    )
    floor_file = work / "floor.mp3"
    floor = timed([sys.executable, "-m", "bench.export_bench", "--encode-only", str(master), str(floor_file)])
    print(f"{minutes:g}-minute master, podcast preset (MP3 {MP3_KBPS} kbit/s, -16 LUFS, -1 dBTP), one run each")
    print(f"{'':44}{'wall s':>8}{'CPU s':>8}{'RSS MB':>8}{'LUFS':>8}{'dBTP':>8}")
    print(row("ours: render job, python -m workers", ours.timing, ours.peak_rss_mb, ours_file))
    print(row("ffmpeg: volume + alimiter + libmp3lame", reference, None, reference_file))
    print(row("floor: our MP3 encoder alone (LAME)", floor, None, floor_file))
    print(f"ratio ours / ffmpeg: wall {ours.timing.wall_s / reference.wall_s:.2f} (goal <= 2), ", end="")
    print(f"CPU {ours.timing.cpu_s / reference.cpu_s:.2f}")
    print(f"our result: targetsMet={ours.result['targetsMet']}, loudness {ours.result['loudness']}")
    if flac:
        lossless = await run_job(work, JobType.RENDER, render_payload(asset_id, "flac", None))
        print(
            row(
                "ours: FLAC, no preset", lossless.timing, lossless.peak_rss_mb, await media_file(lossless.result["url"])
            )
        )
    print(f"load average at the end: {load_average()}")
    await close_job_store()
    await close_media_store()


@dataclass(frozen=True, slots=True)
class Timing:
    wall_s: float
    cpu_s: float


@dataclass(frozen=True, slots=True)
class JobRun:
    result: dict[str, Any]
    timing: Timing
    peak_rss_mb: float


async def run_job(work: Path, job_type: str, payload: dict[str, Any]) -> JobRun:
    """Queue one job and run it with a fresh ``python -m workers --burst`` process; its wall time and peak RSS."""
    store = await get_job_store()
    job, _created = await store.create_job(job_type, payload)
    log = work / f"worker-{job.id}.log"
    timing, peak_rss = await asyncio.to_thread(run_worker, log)
    finished = await store.get_job(job.id)
    if finished is None or finished.status != JobStatus.COMPLETED or finished.result is None:
        raise RuntimeError(f"{job_type} job did not complete:\n{log.read_text(errors='replace')}")
    return JobRun(finished.result, timing, peak_rss / 2**20)


def run_worker(log: Path) -> tuple[Timing, int]:
    """Run ``python -m workers --burst`` to the end; its timing and sampled peak RSS in bytes."""
    with log.open("wb") as output, Stopwatch() as watch:
        process = subprocess.Popen(
            [sys.executable, "-m", "workers", "--burst"], cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT
        )
        peak_rss = sampled_peak_rss(process)
    return watch.timing, peak_rss


def encode_only(master: Path, out: Path) -> None:
    """The encoder's share alone: the master decoded and written as the render's MP3, nothing else."""
    with open_source(master) as source, open_writer(out, "mp3", rate=RATE, channels=1, bitrate_kbps=MP3_KBPS) as writer:
        for chunk in source.decode_chunks(rate=RATE, channels=1):
            writer.consume(chunk)


class Stopwatch:
    """Wall time, and the CPU time (user + system, all threads) of the child processes that ended meanwhile."""

    def __enter__(self) -> Stopwatch:
        self._cpu = _children_cpu_s()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.timing = Timing(time.perf_counter() - self._started, _children_cpu_s() - self._cpu)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sampled_peak_rss(process: subprocess.Popen[bytes]) -> int:
    """Wait for ``process``, sampling its peak RSS; the last sample in bytes."""
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, peak_rss_bytes(watched))
        except psutil.NoSuchProcess:
            break
        time.sleep(RSS_SAMPLE_S)
    return peak


def peak_rss_bytes(process: psutil.Process) -> int:
    """The process's peak RSS so far: Linux's ``VmHWM``, which a spike between two samples also raises; elsewhere
    its RSS now."""
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()
    except FileNotFoundError:
        return int(process.memory_info().rss)
    except ProcessLookupError as exc:
        raise psutil.NoSuchProcess(process.pid) from exc
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(found.group(1)) * 1024 if found else int(process.memory_info().rss)


def render_payload(asset_id: str, output_format: str, preset: str | None) -> dict[str, Any]:
    options = parse_render_options({"format": output_format, "preset": preset})
    return {"assetId": asset_id, "version": 1, **render_options_to_json(options)}


async def media_file(url: str) -> Path:
    """The file behind a result's ``/media/...`` URL, in this run's local media store."""
    key = key_of_media_url(url)
    path = None if key is None else await (await get_media_store()).local_path(key)
    if path is None:
        raise RuntimeError(f"{url} is not a file of the local media store")
    return path


def timed(command: list[str]) -> Timing:
    with Stopwatch() as watch:
        subprocess.run(command, check=True)
    return watch.timing


def measured(path: Path) -> tuple[float, float]:
    """Integrated loudness and true peak of ``path`` decoded back, by ffmpeg's ebur128."""
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"]
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    summary = completed.stderr[completed.stderr.rfind("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary)
    if integrated is None or peak is None:
        raise RuntimeError(f"no ebur128 summary for {path}")
    return float(integrated.group(1)), float(peak.group(1))


def row(name: str, timing: Timing, rss_mb: float | None, path: Path) -> str:
    lufs, peak = measured(path)
    rss = f"{rss_mb:8.0f}" if rss_mb is not None else f"{'':8}"
    return f"{name:44}{timing.wall_s:8.1f}{timing.cpu_s:8.1f}{rss}{lufs:8.2f}{peak:8.2f}"


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
