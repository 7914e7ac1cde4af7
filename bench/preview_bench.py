"""Edit previews of a one-hour recording: in context (excerpts around each edit point) beside the whole file.

    .venv/bin/python -m bench.preview_bench [--hours 1]

A speech-like recording (44.1 kHz mono) is ingested as the worker does (FLAC master, stored loudness), then one edit
list (three cuts spread over the hour, a region gain, a fade-out and a normalize) is previewed both ways on the same
master in the same run: what a user waits for after pressing Preview. The context preview's goal is under 3 s
whatever the length; the whole preview is the reference it replaces.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common.audio.editing import MasterAudio, preview_edits
from common.audio.ingest import ingest_file
from common.edits import PREVIEW_CONTEXT, PREVIEW_WHOLE, parse_edit_list
from tests.support.audio_samples import speech_like, write_audio

RATE = 44100


def _ignore(*_: object) -> None:
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=1.0)
    args = parser.parse_args()
    seconds = args.hours * 3600
    with tempfile.TemporaryDirectory(prefix="preview-bench-") as folder:
        work = Path(folder)
        source = write_audio(work / "source.wav", speech_like(seconds, rate=RATE), rate=RATE)
        files = ingest_file(
            source, work / "v1", max_duration_s=seconds + 1, on_progress=_ignore, check_cancel=_ignore
        ).files
        source.unlink()
        master = MasterAudio(files.master_path, files.sample_rate, files.channels, files.frames, files.loudness)
        edits = parse_edit_list(
            [
                {"op": "cut", "start": seconds * 0.1, "end": seconds * 0.1 + 30},
                {"op": "cut", "start": seconds * 0.5, "end": seconds * 0.5 + 2.5},
                {"op": "cut", "start": seconds * 0.8, "end": seconds * 0.8 + 120},
                {"op": "gain", "db": -6, "start": seconds * 0.3, "end": seconds * 0.3 + 20},
                {"op": "fadeOut", "duration": 4},
                {"op": "normalize", "targetLufs": -16},
            ],
            seconds,
        )
        print(f"{'preview':<10} {'wall s':>8} {'preview s':>10} {'excerpts':>9}")
        timings = {}
        for mode in (PREVIEW_CONTEXT, PREVIEW_WHOLE):
            started = time.perf_counter()
            preview = preview_edits(master, edits, work / mode, mode=mode, on_progress=_ignore, check_cancel=_ignore)
            timings[mode] = time.perf_counter() - started
            print(f"{mode:<10} {timings[mode]:>8.2f} {preview.duration_s:>10.1f} {len(preview.segments):>9}")
        print(f"ratio whole / context: {timings[PREVIEW_WHOLE] / timings[PREVIEW_CONTEXT]:.0f}x")


if __name__ == "__main__":
    main()
