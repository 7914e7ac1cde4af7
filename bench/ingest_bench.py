"""Ingest speed beside the ``ffmpeg`` command line, and the worker's peak memory on long inputs.

    .venv/bin/python -m bench.ingest_bench [--hours 1] [--rounds 2] [--skip-memory]

1. A one-hour, 64 kbit/s mono MP3 of speech-like audio is generated. Our ingest (decode, FLAC master, loudness
   with true peak, waveform peaks) and ``ffmpeg -i in.mp3 -af ebur128=peak=true out.flac`` (decode, loudness with
   true peak, FLAC) each run in a fresh process, alternately, ``--rounds`` times; the best times are compared
   (target: ours / ffmpeg <= 1.5). Needs the ``ffmpeg`` command (Debian's package).
2. Peak RSS of a fresh process that ingests a 10-minute MP3, and of one that ingests a 3-hour FLAC and then renders
   it with the podcast preset (two-pass leveling) to FLAC (target: under 250 MB, and not growing with duration).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.audio_samples import speech_like, write_audio

RATE = 44100


def child_main(mode: str, source: Path, work: Path) -> None:
    """Run in a fresh process: ingest ``source`` (and render it, for ``ingest+render``); print JSON figures."""
    from common.audio.editing import MasterAudio
    from common.audio.ingest import ingest_file
    from common.audio.render import render_master
    from common.render_options import parse_render_options

    started = time.perf_counter()
    outcome = ingest_file(source, work / "v1", max_duration_s=6 * 3600, on_progress=_ignore, check_cancel=_ignore)
    ingest_s = time.perf_counter() - started
    figures: dict[str, object] = {
        "ingest_s": ingest_s,
        "duration_s": outcome.files.duration_s,
        "integrated_lufs": outcome.files.loudness.integrated_lufs,
        "true_peak_dbtp": outcome.files.loudness.true_peak_dbtp,
    }
    if mode == "ingest+render":
        files = outcome.files
        master = MasterAudio(files.master_path, files.sample_rate, files.channels, files.frames)
        started = time.perf_counter()
        rendered = render_master(
            master,
            parse_render_options({"format": "flac", "preset": "podcast"}),
            work / "render",
            title="bench",
            on_progress=_ignore,
            check_cancel=_ignore,
        )
        figures["render_s"] = time.perf_counter() - started
        figures["render_lufs"] = rendered.loudness.integrated_lufs
    figures["max_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures))


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). ``ru_maxrss`` would report the parent's peak if it was higher: Linux
    carries it over fork and exec."""
    status = Path("/proc/self/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    if match is None:
        raise RuntimeError("no VmHWM in /proc/self/status")
    return int(match.group(1)) / 1024


def _ignore(*_args: object) -> None:
    return None


def timed_run(command: list[str], work: Path) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run ``command`` in a fresh process; its wall time and CPU time (user + system, all threads)."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return completed, wall, cpu


def run_child(mode: str, source: Path, work: Path) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.ingest_bench", "--child", mode, str(source), str(work)]
    completed, wall, cpu = timed_run(command, work)
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    figures["wall_s"] = wall
    figures["cpu_s"] = cpu
    return figures


def run_ffmpeg(source: Path, work: Path) -> dict[str, float]:
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-y", "-i", str(source), "-af", "ebur128=peak=true"]
    completed, wall, cpu = timed_run([*command, str(work / "master.flac")], work)
    summary = completed.stderr[completed.stderr.rfind("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "integrated_lufs": float(integrated.group(1)) if integrated else float("nan"),
        "true_peak_dbtp": float(peak.group(1)) if peak else float("nan"),
    }


def generate(path: Path, seconds: float, kind: str, bitrate_kbps: int | None = None) -> Path:
    started = time.perf_counter()
    write_audio(path, speech_like(seconds, rate=RATE), rate=RATE, kind=kind, bitrate_kbps=bitrate_kbps)
    print(f"generated {path.name}: {seconds / 60:.0f} min {kind} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def speed(folder: Path, hours: float, rounds: int) -> None:
    source = generate(folder / "speech.mp3", hours * 3600, "mp3", 64)
    ours: list[dict[str, float]] = []
    reference: list[dict[str, float]] = []
    for _ in range(rounds):
        reference.append(run_ffmpeg(source, folder / "ffmpeg"))
        ours.append(run_child("ingest", source, folder / "ours"))
    best_ours = min(result["wall_s"] for result in ours)
    best_reference = min(result["wall_s"] for result in reference)
    cpu_ours = min(result["cpu_s"] for result in ours)
    cpu_reference = min(result["cpu_s"] for result in reference)
    print(f"\n{hours:g} h MP3, 64 kbit/s mono; best of {rounds} fresh processes each")
    print(f"{'':34}{'wall s':>8}{'CPU s':>8}{'LUFS':>9}{'dBTP':>8}")
    for name, wall, cpu, figures in (
        ("ours (FLAC, loudness+TP, peaks)", best_ours, cpu_ours, ours[0]),
        ("ffmpeg CLI (FLAC, ebur128 TP)", best_reference, cpu_reference, reference[0]),
    ):
        print(f"{name:34}{wall:8.2f}{cpu:8.2f}{figures['integrated_lufs']:9.2f}{figures['true_peak_dbtp']:8.2f}")
    wall_ratio = best_ours / best_reference
    print(f"ratio ours / ffmpeg: wall {wall_ratio:.2f} (target <= 1.5), CPU {cpu_ours / cpu_reference:.2f}")


def memory(folder: Path) -> None:
    short = generate(folder / "ten-minutes.mp3", 600, "mp3", 64)
    long = generate(folder / "three-hours.flac", 3 * 3600, "flac")
    print("\npeak RSS of a fresh worker-like process (target < 250 MB)")
    short_figures = run_child("ingest", short, folder / "short")
    print(f"10-minute MP3, ingest:          {short_figures['max_rss_mb']:7.1f} MB  ({short_figures['ingest_s']:.1f} s)")
    long_figures = run_child("ingest+render", long, folder / "long")
    print(
        f"3-hour FLAC, ingest + render:   {long_figures['max_rss_mb']:7.1f} MB  "
        f"(ingest {long_figures['ingest_s']:.1f} s, podcast render {long_figures['render_s']:.1f} s, "
        f"{long_figures['render_lufs']:.2f} LUFS)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=1.0, help="length of the timed MP3")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "SOURCE", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, source, work = args.child
        child_main(mode, Path(source), Path(work))
        return
    if shutil.which("ffmpeg") is None:
        raise SystemExit("this benchmark compares against the ffmpeg command: install it (apt-get install ffmpeg)")
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as folder:
        speed(Path(folder), args.hours, args.rounds)
        if not args.skip_memory:
            memory(Path(folder))


if __name__ == "__main__":
    main()
