"""Waveform peaks documents in the audiowaveform JSON format, version 2, as peaks.js and wavesurfer.js draw them.

``data`` holds, per pixel, a (min, max) pair for each channel in turn: ``[c0min, c0max, c1min, c1max, ...]``;
``length`` = ceil(frames / samples_per_pixel); values are 8-bit. This module shapes and reads stored documents with
NumPy alone: it is all the web needs of peaks (coarser zoom levels), so it stays outside the audio engine, whose
``common.audio.peaks`` computes the documents from audio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from common.errors import AppError
from common.rules import NumberRule

PEAKS_FORMAT_VERSION = 2
PEAKS_BITS = 8
#: Our addition to the document (readers of the format ignore it): short-term loudness over time for the page's
#: loudness strip, ``{"window_s", "hop_s", "lufs": [...]}``; ``lufs[i]`` is the loudness of the ``window_s`` window
#: centred on ``i * hop_s`` seconds, ``null`` where it is silent (below ``SHORT_TERM_FLOOR_LUFS``).
SHORT_TERM_KEY = "short_term_loudness"
SHORT_TERM_WINDOW_S = 3.0
SHORT_TERM_HOP_S = 0.5
#: The loudness meter's step: one short-term value per 100 ms block (EBU R128).
METER_BLOCK_S = 0.1
SHORT_TERM_FLOOR_LUFS = -70.0

#: Peaks of a span computed from the master (``common.span_peaks``) are 16-bit: at the finest zoom a quiet passage
#: still shows its cycles, where 8 bits would leave it a few steps high.
SPAN_PEAKS_BITS = 16
#: Our addition to a span's document: the frame its first pixel starts at.
SPAN_START_KEY = "start_frame"
#: The most audio one span request decodes: a few megabytes of FLAC, tens of milliseconds of work.
MAX_SPAN_S = 60.0
#: The most pixels one span answers, a couple of screens wide at a high pixel density.
MAX_SPAN_PIXELS = 32768

SPAN_START_RULE = NumberRule(
    "start", "Where the span starts, in seconds of the version", minimum=0.0, maximum=1e7, required=True, unit="s"
)
SPAN_END_RULE = NumberRule(
    "end",
    f"Where the span ends, in seconds of the version (clipped to its length); at most {MAX_SPAN_S:g} s after start",
    minimum=0.0,
    maximum=1e7,
    required=True,
    above_minimum=True,
    unit="s",
    after="start",
)
SPAN_SAMPLES_PER_PIXEL_RULE = NumberRule(
    "samplesPerPixel",
    f"Frames per pixel; the span may hold at most {MAX_SPAN_PIXELS} pixels",
    minimum=1,
    maximum=1 << 16,
    required=True,
    integer=True,
)
SPAN_RULES = (SPAN_START_RULE, SPAN_END_RULE, SPAN_SAMPLES_PER_PIXEL_RULE)


class PeakSpanError(AppError):
    """A span request's parameter is invalid; ``field`` names it."""

    code = "invalid_parameter"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class PeakSpan:
    """Frames ``start_frame`` to ``end_frame`` (exclusive) of a version, in pixels of ``samples_per_pixel``;
    ``start_frame`` is a multiple of it, so spans of one zoom level share their pixels' edges."""

    start_frame: int
    end_frame: int
    samples_per_pixel: int

    @property
    def pixels(self) -> int:
        return -(-(self.end_frame - self.start_frame) // self.samples_per_pixel)


def parse_peak_span(query: dict[str, str], *, sample_rate: int, frames: int) -> PeakSpan:
    """The span a request's query asks for, in a version of ``frames`` frames at ``sample_rate``; raises
    ``PeakSpanError`` for a value that is missing, malformed, out of range, past the version's end, longer than
    ``MAX_SPAN_S`` or wider than ``MAX_SPAN_PIXELS``."""
    values: dict[str, float] = {}
    for rule in SPAN_RULES:
        raw = query.get(rule.name)
        try:
            number: float | None = None if raw is None else float(raw.strip())
        except ValueError:
            raise PeakSpanError(rule.name, "must be a number") from None
        parsed = rule.parse(number, rule.name, PeakSpanError)
        if parsed is None:
            raise PeakSpanError(rule.name, "is required")
        values[rule.name] = parsed
    start_s, end_s = values[SPAN_START_RULE.name], values[SPAN_END_RULE.name]
    samples_per_pixel = int(values[SPAN_SAMPLES_PER_PIXEL_RULE.name])
    if end_s <= start_s:
        raise PeakSpanError(SPAN_END_RULE.name, "must be greater than start")
    if end_s - start_s > MAX_SPAN_S:
        raise PeakSpanError(SPAN_END_RULE.name, f"the span may be at most {MAX_SPAN_S:g} s long")
    start_frame = math.floor(start_s * sample_rate / samples_per_pixel) * samples_per_pixel
    if start_frame >= frames:
        raise PeakSpanError(SPAN_START_RULE.name, f"is past the end of the audio ({frames / sample_rate:g} s)")
    end_frame = min(math.ceil(end_s * sample_rate / samples_per_pixel) * samples_per_pixel, frames)
    span = PeakSpan(start_frame, end_frame, samples_per_pixel)
    if span.pixels > MAX_SPAN_PIXELS:
        raise PeakSpanError(
            SPAN_SAMPLES_PER_PIXEL_RULE.name,
            f"the span would be {span.pixels} pixels, more than {MAX_SPAN_PIXELS}: ask for a shorter span or more "
            "samples per pixel",
        )
    return span


def span_limits_to_json() -> dict[str, Any]:
    """The span rules as the page reads them to size its requests."""
    return {
        "maxSpanSeconds": MAX_SPAN_S,
        "maxPixels": MAX_SPAN_PIXELS,
        "fields": [rule.to_json() for rule in SPAN_RULES],
    }


def rescale_peaks(peaks: dict[str, Any], samples_per_pixel: int) -> dict[str, Any]:
    """``peaks`` (a stored v2 document) at a coarser ``samples_per_pixel``, a multiple of the stored one.

    Raises ``ValueError`` when ``samples_per_pixel`` is not a positive multiple of the stored resolution or the
    document is not a well-formed v2 peaks document.
    """
    stored_spp, channels, length, data = _check_document(peaks)
    if isinstance(samples_per_pixel, bool) or not isinstance(samples_per_pixel, int) or samples_per_pixel <= 0:
        raise ValueError(f"samples_per_pixel must be a positive whole number, got {samples_per_pixel!r}")
    if samples_per_pixel % stored_spp:
        raise ValueError(f"samples_per_pixel must be a multiple of {stored_spp}, got {samples_per_pixel}")
    factor = samples_per_pixel // stored_spp
    pairs = np.asarray(data, dtype=np.int16).reshape(length, channels, 2)
    coarse = fold_pixels(pairs, factor)
    rescaled = {
        **peaks_header(peaks["sample_rate"], channels, samples_per_pixel, len(coarse)),
        "data": flat_data(coarse),
    }
    if SHORT_TERM_KEY in peaks:
        rescaled[SHORT_TERM_KEY] = peaks[SHORT_TERM_KEY]
    return rescaled


def short_term_document(block_lufs: np.ndarray) -> dict[str, Any]:
    """The ``SHORT_TERM_KEY`` entry from the meter's short-term loudness at the end of each 100 ms block: one value
    every ``SHORT_TERM_HOP_S``, moved back half a window so each sits at the middle of the audio it measures."""
    per_hop = round(SHORT_TERM_HOP_S / METER_BLOCK_S)
    # Block k's window ends at (k + 1) * 100 ms; its middle is half a window earlier.
    first = round(SHORT_TERM_WINDOW_S / 2 / METER_BLOCK_S) - 1
    count = len(block_lufs) // per_hop + (1 if len(block_lufs) % per_hop else 0)
    picks = np.minimum(first + per_hop * np.arange(count), len(block_lufs) - 1)
    values = block_lufs[picks] if len(block_lufs) else np.zeros(0, dtype=np.float32)
    return {
        "window_s": SHORT_TERM_WINDOW_S,
        "hop_s": SHORT_TERM_HOP_S,
        "lufs": [None if not value > SHORT_TERM_FLOOR_LUFS else round(float(value), 1) for value in values],
    }


def fold_pixels(pairs: np.ndarray, factor: int) -> np.ndarray:
    """Merge every ``factor`` consecutive pixels of ``pairs`` (shaped (pixels, channels, 2)); the last group may
    be shorter."""
    if factor == 1 or len(pairs) == 0:
        return pairs.copy()
    starts = np.arange(0, len(pairs), factor)
    mins = np.minimum.reduceat(pairs[:, :, 0], starts, axis=0)
    maxes = np.maximum.reduceat(pairs[:, :, 1], starts, axis=0)
    return np.stack([mins, maxes], axis=-1)


def flat_data(pairs: np.ndarray) -> list[int]:
    """The document's ``data`` list from pixels shaped (pixels, channels, 2)."""
    return [int(value) for value in pairs.reshape(-1).tolist()]


def peaks_header(sample_rate: int, channels: int, samples_per_pixel: int, length: int) -> dict[str, Any]:
    """Every field of a v2 document but ``data``."""
    return {
        "version": PEAKS_FORMAT_VERSION,
        "channels": channels,
        "sample_rate": sample_rate,
        "samples_per_pixel": samples_per_pixel,
        "bits": PEAKS_BITS,
        "length": length,
    }


def _check_document(peaks: Any) -> tuple[int, int, int, list[int]]:
    if not isinstance(peaks, dict) or peaks.get("version") != PEAKS_FORMAT_VERSION:
        raise ValueError("not an audiowaveform version 2 peaks document")
    try:
        stored_spp = int(peaks["samples_per_pixel"])
        channels = int(peaks["channels"])
        length = int(peaks["length"])
        data = peaks["data"]
        int(peaks["sample_rate"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"peaks document lacks a valid field: {exc}") from exc
    if stored_spp <= 0 or channels <= 0 or length < 0:
        raise ValueError("peaks document has a non-positive samples_per_pixel or channels")
    if not isinstance(data, list) or len(data) != length * channels * 2:
        raise ValueError("peaks data does not hold length x channels min/max pairs")
    return stored_spp, channels, length, data
