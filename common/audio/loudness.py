"""Loudness per ITU-R BS.1770-4 / EBU R128, measured in one streaming pass.

Integrated loudness and loudness range come from FFmpeg's ``ebur128`` filter run in a PyAV filter graph; the true
peak (4x oversampled, ``common.audio.truepeak``, the same detector the limiter uses), the RMS level and the sample
peak are taken here with NumPy, and so is the headroom profile (``common.audio.headroom``) a render levels by. The
filter's short-term loudness (3 s window) is kept every 100 ms block for the page's loudness strip. RMS is
over all samples of all channels, relative to full scale (a full-scale sine reads -3 dB), as ACX measures it.
Values are ``None`` when undefined, and ``unmeasured`` says why: silence or less than one 400 ms block has no
integrated loudness, and audio shorter than the 3 s short-term window (EBU Tech 3342) has no loudness range (FFmpeg
would report 0 LU, or a figure from a single window).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np

from common.audio.headroom import Headroom, HeadroomMeter
from common.audio.truepeak import TruePeakMeter

# ebur128 reports this when every block is gated out (silence).
_EBUR128_FLOOR_LUFS = -70.0
#: The momentary block integrated loudness is gated over (BS.1770) and the short-term window the loudness range
#: is taken from (EBU Tech 3342), in seconds.
BLOCK_S = 0.4
SHORT_TERM_WINDOW_S = 3.0
SHORT_TERM_BLOCK_VALUES = 4096


@dataclass(frozen=True, slots=True)
class Loudness:
    integrated_lufs: float | None
    loudness_range_lu: float | None
    true_peak_dbtp: float | None
    rms_db: float | None
    sample_peak_db: float | None
    # Stored beside the loudness (``info["headroom"]``), not part of its JSON.
    headroom: Headroom | None = field(default=None, repr=False)
    #: Why a value is ``None``, by its JSON name (``integratedLufs``, ``loudnessRangeLu``).
    unmeasured: dict[str, str] = field(default_factory=dict)
    #: Short-term loudness (LUFS) of the 3 s window ending at each 100 ms block; stored with the peaks.
    short_term_lufs: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "integratedLufs": _rounded(self.integrated_lufs),
            "loudnessRangeLu": _rounded(self.loudness_range_lu),
            "truePeakDbtp": _rounded(self.true_peak_dbtp),
            "rmsDb": _rounded(self.rms_db),
            "unmeasured": dict(self.unmeasured),
        }


class LoudnessMeter:
    """A chunk consumer (``common.audio.chunks``) of float32 chunks shaped (frames, channels); ``finish`` returns
    the measurement. Without ``true_peak`` the true peak is left out (``None``), which saves its cost."""

    def __init__(self, rate: int, channels: int, *, true_peak: bool = True) -> None:
        self.rate = rate
        self.channels = channels
        self._layout = "stereo" if channels == 2 else "mono"
        self._graph = av.filter.Graph()
        self._source = self._graph.add_abuffer(
            format="flt", sample_rate=rate, layout=self._layout, time_base=Fraction(1, rate)
        )
        ebur128 = self._graph.add("ebur128", "metadata=1")
        self._sink = self._graph.add("abuffersink")
        self._source.link_to(ebur128)
        ebur128.link_to(self._sink)
        self._graph.configure()
        self._frames = 0
        self._sum_squares = 0.0
        self._sample_peak = 0.0
        self._last_metadata: dict[str, str] = {}
        self._short_term: list[np.ndarray] = []
        self._short_term_block: list[float] = []
        self._true_peak = TruePeakMeter(channels) if true_peak else None
        self._headroom = HeadroomMeter(rate, channels)

    def consume(self, chunk: np.ndarray) -> None:
        if len(chunk) == 0:
            return
        if self._true_peak is not None:
            self._true_peak.consume(chunk)
        self._headroom.consume(chunk)
        flat = np.ascontiguousarray(chunk, dtype=np.float32).reshape(1, -1)
        self._sum_squares += float(np.dot(flat[0], flat[0]))
        self._sample_peak = max(self._sample_peak, float(np.max(np.abs(flat))))
        frame = av.AudioFrame.from_ndarray(flat, format="flt", layout=self._layout)
        frame.sample_rate = self.rate
        frame.pts = self._frames
        frame.time_base = Fraction(1, self.rate)
        self._frames += len(chunk)
        self._source.push(frame)
        self._drain()

    def finish(self) -> Loudness:
        self._source.push(None)
        self._drain()
        metadata = self._last_metadata
        duration_s = self._frames / self.rate
        unmeasured: dict[str, str] = {}
        integrated = _float(metadata.get("lavfi.r128.I"))
        if integrated is not None and integrated <= _EBUR128_FLOOR_LUFS:
            integrated = None
        if integrated is None:
            unmeasured["integratedLufs"] = (
                f"The audio is {duration_s:.2f} s long, shorter than the {BLOCK_S:g} s block loudness is measured in."
                if duration_s < BLOCK_S
                else "The audio is silent: no block is above the -70 LUFS gate."
            )
        loudness_range = None
        if duration_s < SHORT_TERM_WINDOW_S:
            unmeasured["loudnessRangeLu"] = (
                f"The audio is {duration_s:.1f} s long, shorter than the {SHORT_TERM_WINDOW_S:g} s window "
                "the loudness range is measured over."
            )
        elif integrated is None:
            unmeasured["loudnessRangeLu"] = "Silent audio has no loudness range."
        else:
            loudness_range = _float(metadata.get("lavfi.r128.LRA"))
        true_peak = None if self._true_peak is None else _to_db(self._true_peak.finish())
        samples = self._frames * self.channels
        rms = _to_db(math.sqrt(self._sum_squares / samples)) if samples else None
        short_term = np.concatenate([*self._short_term, np.asarray(self._short_term_block, dtype=np.float32)])
        return Loudness(
            integrated,
            loudness_range,
            true_peak,
            rms,
            _to_db(self._sample_peak),
            self._headroom.finish(),
            unmeasured,
            short_term,
        )

    def _drain(self) -> None:
        while True:
            try:
                frame = self._sink.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            if frame.metadata:
                self._last_metadata = dict(frame.metadata)
                short_term = self._last_metadata.get("lavfi.r128.S")
                if short_term is not None:
                    self._keep_short_term(float(short_term))

    def _keep_short_term(self, lufs: float) -> None:
        # In float32 blocks rather than one list of Python floats: six hours are 216,000 values.
        self._short_term_block.append(lufs)
        if len(self._short_term_block) >= SHORT_TERM_BLOCK_VALUES:
            self._short_term.append(np.asarray(self._short_term_block, dtype=np.float32))
            self._short_term_block = []


def loudness_from_json(value: dict[str, Any]) -> Loudness:
    return Loudness(
        integrated_lufs=value.get("integratedLufs"),
        loudness_range_lu=value.get("loudnessRangeLu"),
        true_peak_dbtp=value.get("truePeakDbtp"),
        rms_db=value.get("rmsDb"),
        sample_peak_db=None,
        unmeasured=_unmeasured_from_json(value.get("unmeasured")),
    )


def _unmeasured_from_json(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(key): str(reason) for key, reason in value.items()}


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _to_db(linear: float) -> float | None:
    return 20.0 * math.log10(linear) if linear > 0 else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
