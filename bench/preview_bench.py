"""Edit previews of a one-hour recording: in context (excerpts around each edit point) beside the whole file.

    .venv/bin/python -m bench.preview_bench [--hours 1]

A speech-like recording (44.1 kHz mono) is ingested as the worker does (FLAC master, stored loudness), then one edit
list (three cuts spread over the hour, a region gain, a fade-out and a normalize) is previewed both ways on the same
master in the same run: what a user waits for after pressing Preview. The same list with every repair in front of it
(highpass, dehum, denoise, deess, level) and without the normalize is previewed both ways too. Each context preview's
excerpts are compared with the same spans of the whole one (both decoded back): the largest level difference of an
excerpt, in dB. The context
preview's goal is under 3 s whatever the length; the whole preview is the reference it replaces.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from common.audio.editing import MasterAudio, PreviewFile, preview_edits
from common.audio.ingest import ingest_file
from common.edits import PREVIEW_CONTEXT, PREVIEW_WHOLE, parse_edit_list
from tests.support.audio_samples import read_audio, speech_like, write_audio

RATE = 44100
REPAIRS = [{"op": "highpass"}, {"op": "dehum"}, {"op": "denoise"}, {"op": "deess"}, {"op": "level"}]


def plain_edits(seconds: float) -> list[dict[str, object]]:
    """Three cuts, a region gain, a fade-out and a normalize, spread over a recording of ``seconds``."""
    return [
        {"op": "cut", "start": seconds * 0.1, "end": seconds * 0.1 + 30},
        {"op": "cut", "start": seconds * 0.5, "end": seconds * 0.5 + 2.5},
        {"op": "cut", "start": seconds * 0.8, "end": seconds * 0.8 + 120},
        {"op": "gain", "db": -6, "start": seconds * 0.3, "end": seconds * 0.3 + 20},
        {"op": "fadeOut", "duration": 4},
        {"op": "normalize", "targetLufs": -16},
    ]


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
        plain = plain_edits(seconds)
        print(f"{'edits':<8} {'preview':<10} {'wall s':>8} {'preview s':>10} {'excerpts':>9} {'max dB off':>11}")
        # The repairs' list leaves out the normalize, so its figure is the repairs' own approximation (a context
        # normalize is a constant gain from the stored loudness, without the whole preview's limiter: the plain
        # list's figure).
        for name, raw in (("plain", plain), ("repairs", [*REPAIRS, *plain[:-1]])):
            edits = parse_edit_list(raw, seconds)
            timings, previews = {}, {}
            for mode in (PREVIEW_CONTEXT, PREVIEW_WHOLE):
                started = time.perf_counter()
                previews[mode] = preview_edits(
                    master, edits, work / name / mode, mode=mode, on_progress=_ignore, check_cancel=_ignore
                )
                timings[mode] = time.perf_counter() - started
            off = _largest_level_difference(previews[PREVIEW_CONTEXT], previews[PREVIEW_WHOLE])
            for mode, preview in previews.items():
                shown = f"{off:>11.2f}" if mode == PREVIEW_CONTEXT else f"{'':>11}"
                print(
                    f"{name:<8} {mode:<10} {timings[mode]:>8.2f} {preview.duration_s:>10.1f} "
                    f"{len(preview.segments):>9} {shown}"
                )
            print(f"{name}: ratio whole / context {timings[PREVIEW_WHOLE] / timings[PREVIEW_CONTEXT]:.0f}x")


def _largest_level_difference(context: PreviewFile, whole: PreviewFile) -> float:
    """The largest difference (dB) between the RMS level of a context excerpt and that of the same span of the whole
    preview, both decoded from their MP3 files."""
    context_audio = read_audio(context.path)[0].astype(np.float64)
    whole_audio = read_audio(whole.path)[0].astype(np.float64)
    rate = context.sample_rate
    largest = 0.0
    for segment in context.segments:
        length = segment.end - segment.start
        excerpt = context_audio[segment.at : segment.at + length]
        reference = whole_audio[segment.start : segment.start + length]
        # The excerpt's 5 ms ramps at either end are not in the whole preview.
        edge = round(0.01 * rate)
        excerpt, reference = excerpt[edge:-edge], reference[edge:-edge]
        difference = 10.0 * np.log10(np.mean(excerpt**2) / np.mean(reference**2))
        largest = max(largest, abs(float(difference)))
    return largest


if __name__ == "__main__":
    main()
