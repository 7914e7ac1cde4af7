"""Memory: ingest and render stream, so a fresh process's peak RSS stays bounded and does not grow with the
duration. (The 3-hour figures are in ``bench/ingest_bench.py`` and, with every enhancement on, through the web
and worker processes, ``bench/chain_memory_bench.py``; this is the quick check.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from common.config import PROJECT_ROOT
from tests.support.audio_samples import speech_like, write_audio

WORKER_RSS_LIMIT_MB = 250

# The peak RSS of the child's own address space (VmHWM): ru_maxrss would carry over the parent's peak, which
# Linux keeps across fork and exec.
CHILD = """
import json, re, sys
from pathlib import Path
from common.audio.ingest import ingest_file
files = ingest_file(Path(sys.argv[1]), Path(sys.argv[2]), max_duration_s=7200,
                    on_progress=lambda _: None, check_cancel=lambda: None).files
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
print(json.dumps({"frames": files.frames, "rss_mb": peak_kb / 1024}))
"""

RENDER_CHILD = """
import json, re, sys
from pathlib import Path
from common.audio.editing import MasterAudio
from common.audio.render import render_master
from common.render_options import parse_render_options
master = MasterAudio(Path(sys.argv[1]), 44100, 1, int(sys.argv[3]))
rendered = render_master(master, parse_render_options({"format": "mp3", "preset": "podcast"}), Path(sys.argv[2]),
                         title="t", on_progress=lambda _: None, check_cancel=lambda: None)
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
print(json.dumps({"frames": rendered.frames, "met": rendered.targets_met, "rss_mb": peak_kb / 1024}))
"""


def _ingest_rss(source: Path, out: Path) -> dict[str, float]:
    return _child_rss(CHILD, str(source), str(out))


def _child_rss(child: str, *args: str) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-c", child, *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_ingest_memory_is_bounded_and_does_not_grow_with_duration(tmp_path: Path) -> None:
    short = write_audio(tmp_path / "one-minute", speech_like(60, rate=44100, channels=2), rate=44100, kind="flac")
    long = write_audio(tmp_path / "ten-minutes", speech_like(600, rate=44100, channels=2), rate=44100, kind="flac")

    short_run = _ingest_rss(short, tmp_path / "short")
    long_run = _ingest_rss(long, tmp_path / "long")

    assert (short_run["frames"], long_run["frames"]) == (60 * 44100, 600 * 44100)
    assert long_run["rss_mb"] < WORKER_RSS_LIMIT_MB
    # Ten times the audio may cost a few megabytes of waveform peaks, not ten times the memory.
    assert long_run["rss_mb"] < short_run["rss_mb"] + 20


EDIT_CHILD = """
import json, re, sys
from pathlib import Path
from common.audio.editing import MasterAudio, save_edited_version
from common.audio.ingest import ingest_file
from common.edits import parse_edit_list
files = ingest_file(Path(sys.argv[1]), Path(sys.argv[2]) / "v1", max_duration_s=7200,
                    on_progress=lambda _: None, check_cancel=lambda: None).files
master = MasterAudio(files.master_path, files.sample_rate, files.channels, files.frames)
edits = parse_edit_list(json.loads(sys.argv[3]), files.frames / files.sample_rate)
edited = save_edited_version(master, edits, Path(sys.argv[2]) / "v2", on_progress=lambda _: None,
                             check_cancel=lambda: None)
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
print(json.dumps({"frames": edited.frames, "rss_mb": peak_kb / 1024}))
"""
EVERY_ENHANCEMENT = [
    {"op": "highpass"},
    {"op": "dehum"},
    {"op": "denoise"},
    {"op": "deess"},
    {"op": "level"},
    {"op": "shortenPauses"},
    {"op": "normalize", "targetLufs": -16},
]


@pytest.mark.slow
def test_every_enhancement_together_streams_in_bounded_memory(tmp_path: Path) -> None:
    short = write_audio(tmp_path / "half-minute", speech_like(30, rate=44100, channels=2), rate=44100, kind="flac")
    long = write_audio(tmp_path / "five-minutes", speech_like(300, rate=44100, channels=2), rate=44100, kind="flac")
    runs = []
    for source, out in ((short, tmp_path / "short"), (long, tmp_path / "long")):
        completed = subprocess.run(
            [sys.executable, "-c", EDIT_CHILD, str(source), str(out), json.dumps(EVERY_ENHANCEMENT)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        runs.append(json.loads(completed.stdout.strip().splitlines()[-1]))

    assert runs[1]["frames"] < 300 * 44100
    assert runs[1]["rss_mb"] < WORKER_RSS_LIMIT_MB
    # The levels learned for the leveler and the pause list grow with the audio by a few bytes a block, no more.
    assert runs[1]["rss_mb"] < runs[0]["rss_mb"] + 20


@pytest.mark.slow
def test_mp3_render_memory_is_bounded_and_does_not_grow_with_duration(tmp_path: Path) -> None:
    runs = {}
    for seconds in (60, 600):
        master = write_audio(tmp_path / f"{seconds}.flac", speech_like(seconds, rate=44100), rate=44100, kind="flac")
        runs[seconds] = _child_rss(RENDER_CHILD, str(master), str(tmp_path / f"out-{seconds}"), str(seconds * 44100))

    assert [runs[seconds]["frames"] for seconds in (60, 600)] == [60 * 44100, 600 * 44100]
    assert runs[600]["met"]
    assert runs[600]["rss_mb"] < WORKER_RSS_LIMIT_MB
    assert runs[600]["rss_mb"] < runs[60]["rss_mb"] + 20
