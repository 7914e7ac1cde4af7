"""Repairs of a recording (highpass, dehum, denoise, deess, level): filters on the decoded source stream.

A repair edit filters the recording as a whole, in the order the repairs are listed, before any timeline edit:
the program reads its source through them (``common.audio.reader.RangeReader``), so frame ``i`` of the filtered
stream is frame ``i`` of the source and cuts, trims, fades and gains keep their times exactly. Every filter keeps
the stream's length; a filter that looks ahead (denoise) reports its ``latency`` and ``aligned`` drops that many
frames at the start and flushes them at the end.

What a repair needs to know about the recording is learned in one streaming pass over the source before the
program plays (``learn``): the mains frequency (dehum's default), a noise profile from the quietest passages
that are the noise floor (denoise), and a level per ``LEVEL_BLOCK_S`` block (level). Memory stays bounded: a
handful of spectra, and a few bytes per tenth of a second for the levels.

- ``highpass``, ``dehum`` and ``deess`` are FFmpeg filters (``highpass``, ``bandreject`` notches, ``deesser``) in
  a PyAV filter graph.
- ``denoise`` is a short-time spectral (Wiener) gain with decision-directed a-priori SNR (Ephraim and Malah),
  which keeps residual noise smooth instead of leaving "musical" tones, floored at ``reduction_db`` below unity.
- ``level`` is a slow gain that brings the level of speech, smoothed over ``LEVEL_WINDOW_S`` either side, to the
  recording's mean speech level, within ``max_gain_db``. Pauses (below a gate derived from the recording's noise
  floor and speech peaks) are never raised, so the noise between phrases stays where it was.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol

import av
import numpy as np

from common.audio.background import BackgroundIterator
from common.audio.running import running_mean
from common.audio.source import CancelCheck, SourceFile, open_source
from common.edits import DETECT_HUM, Deess, Dehum, Denoise, Edit, Highpass, Level, Repair

# Dehum: each notch's quality factor (bandwidth = frequency / Q); narrow enough to leave a voice's harmonics.
HUM_NOTCH_Q = 25.0
HUM_CANDIDATES_HZ = (50, 60)
# A candidate counts as hum when its first harmonics stand this far above the spectrum around them.
HUM_PROMINENCE_DB = 6.0
HUM_SCORED_HARMONICS = 4
# Denoise: the analysis frame is about this long; frames overlap by three quarters.
DENOISE_FRAME_S = 0.043
DENOISE_SMOOTHING = 0.98
# Frames overlap by three quarters: each output hop sums parts of four frames.
OVERLAPS = 4
# The gain applied favours speech this much over the Wiener estimate (the a-priori SNR is taken this many times
# higher): a Wiener gain takes a few dB off speech's weaker harmonics and consonants, noise-only bins stay at the
# floor all the same.
DENOISE_SPEECH_BIAS = 4.0
DENOISE_BIN_SMOOTHING = 2
# Bins this far above the noise (posterior SNR) are taken as they are: speech's harmonics stand out that much,
# and averaging them with their neighbours would take them down with the noise.
DENOISE_CLEAR_SNR = 4.0
# The noise profile is the mean spectrum of the quietest blocks of this many analysis frames, at most this many.
NOISE_BLOCK_FRAMES = 8
NOISE_BLOCKS = 32
DIGITAL_SILENCE_POWER = 1e-12
# Of those, only blocks at most this far above the noise floor (the quietest steady block) count: a recording with
# fewer pauses than the profile is long would otherwise lend it its quietest speech, which denoise then lowers by
# up to its reduction. Measured on generated noise over a minute, a floor's blocks stay within 0.3 dB (white),
# 1.5 dB (pink) and 10 dB (rumble-heavy 1/f^2 noise, before any highpass) of each other, while the quietest block
# holding any speech stood 10-16 dB above the noise of talks at 25-40 dB SNR. A block let in at the margin holds
# about five times as much other sound as noise, so a few of them lift the profile by a few dB at most.
NOISE_FLOOR_MARGIN_DB = 8.0
# A block is steady when its frames' energies stay this close together: noise floors measured within 1 dB (white)
# and 4 dB (pink), any block holding speech 7 dB and more apart. A block that is partly digital silence or a fade
# is not steady either, so the silence a recording is padded with cannot set the floor below its noise.
NOISE_STEADY_DB = 6.0
# Level: measurement blocks, the window speech is averaged over, and the gate.
LEVEL_BLOCK_S = 0.1
LEVEL_WINDOW_S = 1.5
# Short gaps between words keep the gain of the phrase around them: only longer pauses count as pauses.
LEVEL_HANGOVER_S = 0.3
LEVEL_SMOOTHING_S = 0.2
# The gate sits this far above the noise floor (the 10th percentile block), and at most this far below the
# loudest speech (the 95th percentile block).
GATE_ABOVE_FLOOR_DB = 12.0
GATE_BELOW_PEAK_DB = 35.0
LEVEL_SILENT_DB = -100.0


class StreamFilter(Protocol):
    """A stream of float32 (frames, channels) chunks in, the same stream filtered out, ``latency`` frames late."""

    latency: int

    def process(self, chunk: np.ndarray) -> np.ndarray: ...

    def flush(self) -> np.ndarray: ...


def aligned(chunks: Iterator[np.ndarray], stream_filter: StreamFilter) -> Iterator[np.ndarray]:
    """``chunks`` through ``stream_filter``, frame for frame: its latency dropped, exactly as many frames out."""
    to_drop = stream_filter.latency
    frames_in = 0
    frames_out = 0
    for chunk in chunks:
        frames_in += len(chunk)
        out = stream_filter.process(chunk)
        if to_drop:
            dropped = min(to_drop, len(out))
            out = out[dropped:]
            to_drop -= dropped
        if len(out):
            frames_out += len(out)
            yield out
    tail = stream_filter.flush()[to_drop:][: frames_in - frames_out]
    if len(tail):
        yield tail


class GraphFilter:
    """FFmpeg audio filters (name, arguments), in order, in a PyAV filter graph; they keep the stream's length."""

    latency = 0

    def __init__(self, rate: int, channels: int, steps: list[tuple[str, str]]) -> None:
        self._rate = rate
        self._channels = channels
        self._layout = "stereo" if channels == 2 else "mono"
        self._graph = av.filter.Graph()
        self._source = self._graph.add_abuffer(
            format="flt", sample_rate=rate, layout=self._layout, time_base=Fraction(1, rate)
        )
        previous = self._source
        for name, arguments in [*steps, ("aformat", f"sample_fmts=flt:channel_layouts={self._layout}")]:
            node = self._graph.add(name, arguments)
            previous.link_to(node)
            previous = node
        self._sink = self._graph.add("abuffersink")
        previous.link_to(self._sink)
        self._graph.configure()
        self._pts = 0

    def process(self, chunk: np.ndarray) -> np.ndarray:
        if len(chunk) == 0:
            return chunk
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(chunk, dtype=np.float32).reshape(1, -1), format="flt", layout=self._layout
        )
        frame.sample_rate = self._rate
        frame.pts = self._pts
        frame.time_base = Fraction(1, self._rate)
        self._pts += len(chunk)
        self._source.push(frame)
        return self._pull()

    def flush(self) -> np.ndarray:
        self._source.push(None)
        return self._pull()

    def _pull(self) -> np.ndarray:
        blocks = []
        while True:
            try:
                frame = self._sink.pull()
            except (av.BlockingIOError, av.EOFError):
                break
            if isinstance(frame, av.AudioFrame):
                blocks.append(frame.to_ndarray().reshape(-1, self._channels))
        if not blocks:
            return np.zeros((0, self._channels), dtype=np.float32)
        return np.concatenate(blocks).astype(np.float32, copy=False)


def denoise_frame_size(rate: int) -> int:
    return 1 << max(8, round(math.log2(DENOISE_FRAME_S * rate)))


def noise_level_db(noise_power: np.ndarray) -> float:
    """The RMS level (dBFS, full-scale square wave at 0) of noise with the learned spectrum ``noise_power``."""
    size = (len(noise_power) - 1) * 2
    # Parseval over a one-sided spectrum (the bins between DC and Nyquist stand for two), divided by the mean power
    # of the analysis window, one half.
    total = 2.0 * float(np.sum(noise_power, dtype=np.float64)) - float(noise_power[0]) - float(noise_power[-1])
    return 10.0 * math.log10(total * 2.0 / (size * size))


def _analysis_window(size: int) -> np.ndarray:
    # The square root of a periodic Hann window, for analysis and synthesis: at 75 % overlap their products add
    # up to 2 everywhere, so an all-pass gain gives back the input.
    return np.sqrt(0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(size) / size)).astype(np.float32)


class SpectralDenoiser:
    """The denoise filter: see the module docstring. ``noise_power`` is the learned noise spectrum (per bin of a
    ``denoise_frame_size`` frame under the analysis window)."""

    def __init__(self, rate: int, channels: int, noise_power: np.ndarray, reduction_db: float) -> None:
        self._size = denoise_frame_size(rate)
        self._hop = self._size // OVERLAPS
        self.latency = self._size - self._hop
        self._channels = channels
        self._window = _analysis_window(self._size)
        self._synthesis = self._window / 2.0
        self._noise = np.maximum(noise_power, DIGITAL_SILENCE_POWER).astype(np.float32)
        self._floor = 10.0 ** (-reduction_db / 20.0)
        self._input = np.zeros((channels, self.latency), dtype=np.float32)
        # The last three hops of the previous call's overlap-add, still to be completed.
        self._overlap = np.zeros((OVERLAPS - 1, channels, self._hop), dtype=np.float32)
        bins = self._size // 2 + 1
        self._previous_clean = np.zeros((channels, bins), dtype=np.float32)

    def process(self, chunk: np.ndarray) -> np.ndarray:
        self._input = np.concatenate([self._input, chunk.T.astype(np.float32)], axis=1)
        count = (self._input.shape[1] - self._size) // self._hop + 1 if self._input.shape[1] >= self._size else 0
        if count <= 0:
            return np.zeros((0, self._channels), dtype=np.float32)
        # (frames, channels, size), a view until windowed.
        frames = np.lib.stride_tricks.sliding_window_view(self._input, self._size, axis=1)[:, :: self._hop][:, :count]
        spectra = np.fft.rfft(frames.transpose(1, 0, 2) * self._window, axis=-1)
        power = spectra.real**2 + spectra.imag**2
        spectra *= self._gains(power)
        cleaned = np.fft.irfft(spectra, n=self._size, axis=-1)
        cleaned *= self._synthesis
        # Overlap-add, a hop at a time for all frames at once: hop b of the output sums part j of frame b - j.
        parts = cleaned.reshape(count, self._channels, OVERLAPS, self._hop)
        summed = np.zeros((count + OVERLAPS - 1, self._channels, self._hop), dtype=np.float32)
        summed[: OVERLAPS - 1] = self._overlap
        for part in range(OVERLAPS):
            summed[part : part + count] += parts[:, :, part]
        self._overlap = summed[count:].copy()
        self._input = self._input[:, count * self._hop :]
        return summed[:count].transpose(0, 2, 1).reshape(-1, self._channels)

    def flush(self) -> np.ndarray:
        return self.process(np.zeros((self._size, self._channels), dtype=np.float32))

    def _gains(self, power: np.ndarray) -> np.ndarray:
        # The posterior SNR averaged over neighbouring bins: a lone noise bin that happens to peak would otherwise
        # open for a frame, the warble ("musical noise") such gains leave.
        half = DENOISE_BIN_SMOOTHING
        width = 2 * half + 1
        padded = np.concatenate([np.repeat(power[..., :1], half, -1), power, np.repeat(power[..., -1:], half, -1)], -1)
        bins = power.shape[-1]
        smoothed = sum(padded[..., offset : offset + bins] for offset in range(width)) / width
        raw = power / self._noise
        posterior = np.where(raw > DENOISE_CLEAR_SNR, raw, smoothed / self._noise)
        # Decision-directed a-priori SNR: the previous frame's clean estimate, and what this frame adds. The loop
        # runs once per frame, so it writes in place with five ufuncs a frame, the smoothing folded into the
        # posterior beforehand.
        fresh = (1.0 - DENOISE_SMOOTHING) * np.maximum(posterior - 1.0, 0.0)
        carried = DENOISE_SMOOTHING * posterior
        priors = np.empty_like(posterior)
        np.multiply(self._previous_clean, DENOISE_SMOOTHING, out=priors[0])
        priors[0] += fresh[0]
        wiener = np.empty_like(self._previous_clean)
        last = len(posterior) - 1
        for index in range(last):
            prior = priors[index]
            np.add(prior, 1.0, out=wiener)
            np.divide(prior, wiener, out=wiener)
            np.multiply(wiener, wiener, out=wiener)
            following = priors[index + 1]
            np.multiply(wiener, carried[index], out=following)
            following += fresh[index + 1]
        np.divide(priors[last], priors[last] + 1.0, out=wiener)
        self._previous_clean = wiener * wiener * posterior[last]
        return np.maximum(priors / (1.0 / DENOISE_SPEECH_BIAS + priors), self._floor)


@dataclass(frozen=True, slots=True)
class LevelPlan:
    """The level filter's gain (dB) at the middle of each ``block_frames`` block of the source, and the mean speech
    level (dBFS RMS) it brings speech to (``None``: no speech found, every gain is 0)."""

    block_frames: int
    gains_db: np.ndarray
    speech_db: float | None = None


class LevelFilter:
    latency = 0

    def __init__(self, plan: LevelPlan, channels: int) -> None:
        self._plan = plan
        self._channels = channels
        self._position = 0
        self._centres = (np.arange(len(plan.gains_db)) + 0.5) * plan.block_frames

    def process(self, chunk: np.ndarray) -> np.ndarray:
        positions = np.arange(self._position, self._position + len(chunk), dtype=np.float64)
        self._position += len(chunk)
        if len(self._plan.gains_db) == 0:
            return chunk
        gains_db = np.interp(positions, self._centres, self._plan.gains_db)
        # The linear gain in float32, as the samples it multiplies: half the cost of float64 powers of ten.
        gains = np.exp(np.multiply(gains_db, math.log(10.0) / 20.0, dtype=np.float32))
        return np.multiply(chunk, gains[:, np.newaxis], dtype=np.float32)

    def flush(self) -> np.ndarray:
        return np.zeros((0, self._channels), dtype=np.float32)

    def start_at(self, frame: int) -> None:
        """Take the stream as starting at source frame ``frame`` (a reading that began with a seek)."""
        self._position = frame


def plan_level(levels_db: np.ndarray, block_frames: int, rate: int, max_gain_db: float) -> LevelPlan:
    """The level filter's gains from the recording's block levels (see the module docstring)."""
    audible = levels_db > LEVEL_SILENT_DB
    if not np.any(audible):
        return LevelPlan(block_frames, np.zeros(len(levels_db)))
    floor = float(np.percentile(levels_db[audible], 10))
    peak = float(np.percentile(levels_db[audible], 95))
    gate = max(floor + GATE_ABOVE_FLOOR_DB, peak - GATE_BELOW_PEAK_DB)
    speech = levels_db >= gate
    if not np.any(speech):
        return LevelPlan(block_frames, np.zeros(len(levels_db)))
    blocks_per_s = rate / block_frames
    half = max(1, round(LEVEL_WINDOW_S * blocks_per_s))
    energy = np.where(speech, np.power(10.0, levels_db / 10.0), 0.0)
    weight = running_mean(speech.astype(np.float64), half)
    mean_energy = running_mean(energy, half)
    covered = weight > 0
    smoothed_db = np.full(len(levels_db), np.nan)
    smoothed_db[covered] = 10.0 * np.log10(np.maximum(mean_energy[covered] / weight[covered], 1e-20))
    target = float(np.mean(levels_db[speech]))
    gains = np.where(covered, np.clip(target - np.nan_to_num(smoothed_db, nan=target), -max_gain_db, max_gain_db), 0.0)
    hangover = max(1, round(LEVEL_HANGOVER_S * blocks_per_s))
    in_phrase = running_mean(speech.astype(np.float64), hangover) > 0
    gains = np.where(in_phrase, gains, np.minimum(gains, 0.0))
    smoothing = max(1, round(LEVEL_SMOOTHING_S * blocks_per_s / 2))
    return LevelPlan(block_frames, running_mean(gains, smoothing), target)


@dataclass(slots=True)
class Learned:
    """What ``learn`` found: the mains frequency (``None``: no hum), the noise spectrum (the mean of the
    ``noise_frames`` frames of the noise floor among the quietest; ``None``: nothing but silence) and the level plan
    input."""

    hum_hz: int | None = None
    noise_power: np.ndarray | None = None
    noise_frames: int = 0
    levels_db: np.ndarray | None = None


@dataclass(slots=True)
class _Collector:
    """A chunk consumer gathering, in bounded memory, what the repairs of a chain need (see ``Learned``)."""

    rate: int
    channels: int
    hum: bool
    noise: bool
    levels: bool
    _pending: np.ndarray = field(init=False)
    _hum_power: np.ndarray | None = field(init=False, default=None)
    _quiet: list[tuple[float, int, np.ndarray]] = field(init=False, default_factory=list)
    _level_values: list[float] = field(init=False, default_factory=list)
    _level_block: int = field(init=False, default=0)
    _noise_block: int = field(init=False, default=0)
    _noise_size: int = field(init=False, default=0)
    _blocks_seen: int = field(init=False, default=0)
    _steady_floor: float = field(init=False, default=math.inf)
    _hum_pending: np.ndarray = field(init=False)
    _noise_pending: np.ndarray = field(init=False)
    _level_pending: np.ndarray = field(init=False)
    _hum_window: np.ndarray = field(init=False)
    _noise_window: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        empty = np.zeros((0, self.channels), dtype=np.float32)
        self._hum_pending = empty
        self._noise_pending = empty
        self._level_pending = empty
        self._level_block = max(1, round(LEVEL_BLOCK_S * self.rate))
        self._noise_size = denoise_frame_size(self.rate)
        self._noise_block = self._noise_size * NOISE_BLOCK_FRAMES
        # Spectra in float32: power ratios of a few dB and a mean noise spectrum need no more, and NumPy's FFT
        # takes about half the time.
        self._hum_window = np.hanning(self.rate).astype(np.float32)
        self._noise_window = _analysis_window(self._noise_size)

    def consume(self, chunk: np.ndarray) -> None:
        if self.hum:
            self._hum_pending = self._take(self._hum_pending, chunk, self.rate, self._hum_segment)
        if self.noise:
            self._noise_pending = self._take(self._noise_pending, chunk, self._noise_block, self._noise_segment)
        if self.levels:
            self._level_pending = self._take(self._level_pending, chunk, self._level_block, self._level_segments)

    def finish(self) -> Learned:
        learned = Learned()
        if self.hum and self._hum_power is not None:
            learned.hum_hz = _detect_hum(self._hum_power)
        if self.noise and self._quiet:
            # Without a steady block (noise that comes and goes, or no pause), the quietest block is the floor.
            floor = self._steady_floor if math.isfinite(self._steady_floor) else -max(self._quiet)[0]
            limit = floor * 10.0 ** (NOISE_FLOOR_MARGIN_DB / 10.0)
            floor_spectra = [spectrum for negative, _, spectrum in self._quiet if -negative <= limit]
            learned.noise_power = np.mean(floor_spectra, axis=0)
            learned.noise_frames = len(floor_spectra) * self._noise_block
        if self.levels:
            if len(self._level_pending):
                self._level_segments(self._level_pending)
            learned.levels_db = np.asarray(self._level_values, dtype=np.float64)
        return learned

    @staticmethod
    def _take(pending: np.ndarray, chunk: np.ndarray, size: int, use: Callable[[np.ndarray], None]) -> np.ndarray:
        joined = np.concatenate([pending, chunk]) if len(pending) else chunk
        whole = len(joined) // size * size
        if whole:
            use(joined[:whole])
        return joined[whole:].copy()

    def _hum_segment(self, frames: np.ndarray) -> None:
        segments = frames.reshape(-1, self.rate, self.channels).transpose(0, 2, 1)
        spectra = np.fft.rfft(segments * self._hum_window, axis=-1)[..., : max(HUM_CANDIDATES_HZ) * 12]
        power = (spectra.real**2 + spectra.imag**2).mean(axis=(0, 1))
        self._hum_power = power if self._hum_power is None else self._hum_power + power

    def _noise_segment(self, frames: np.ndarray) -> None:
        blocks = frames.reshape(-1, NOISE_BLOCK_FRAMES, self._noise_size, self.channels).transpose(0, 1, 3, 2)
        spectra = np.fft.rfft(blocks * self._noise_window, axis=-1)
        frame_power = spectra.real**2 + spectra.imag**2
        # Mean over the block's frames and the channels: each channel carries the noise at its own level. One axis
        # at a time: the channels interleave in this layout, and one reduction over both strides (about 5x slower).
        power = frame_power.mean(axis=1).mean(axis=1)
        # Each frame's energy, for whether the block is steady (see NOISE_STEADY_DB).
        frame_energies = np.maximum(frame_power.mean(axis=(2, 3)), DIGITAL_SILENCE_POWER)
        steady = frame_energies.max(axis=1) <= frame_energies.min(axis=1) * 10.0 ** (NOISE_STEADY_DB / 10.0)
        for spectrum, is_steady in zip(power, steady, strict=True):
            energy = float(spectrum.mean())
            self._blocks_seen += 1
            if energy <= DIGITAL_SILENCE_POWER:
                continue
            if is_steady:
                self._steady_floor = min(self._steady_floor, energy)
            entry = (-energy, self._blocks_seen, spectrum)
            if len(self._quiet) < NOISE_BLOCKS:
                heapq.heappush(self._quiet, entry)
            elif -energy > self._quiet[0][0]:
                heapq.heapreplace(self._quiet, entry)

    def _level_segments(self, frames: np.ndarray) -> None:
        whole = len(frames) // self._level_block * self._level_block
        blocks = frames[:whole].reshape(-1, self._level_block * self.channels).astype(np.float64)
        mean_square = np.mean(blocks * blocks, axis=1)
        if whole < len(frames):
            rest = frames[whole:].astype(np.float64)
            mean_square = np.append(mean_square, np.mean(rest * rest))
        with np.errstate(divide="ignore"):
            self._level_values.extend((10.0 * np.log10(mean_square)).tolist())


def _detect_hum(power: np.ndarray) -> int | None:
    best, best_score = None, HUM_PROMINENCE_DB
    for frequency in HUM_CANDIDATES_HZ:
        scores = []
        for harmonic in range(1, HUM_SCORED_HARMONICS + 1):
            centre = frequency * harmonic
            around = np.concatenate([power[centre - 12 : centre - 2], power[centre + 3 : centre + 13]])
            scores.append(
                10.0 * math.log10(max(power[centre - 1 : centre + 2].max(), 1e-30) / max(np.median(around), 1e-30))
            )
        score = float(np.mean(scores))
        if score > best_score:
            best, best_score = frequency, score
    return best


class RepairChain:
    """The repairs of an edit list, in order, at one rate and channel count: what they need learned, and a fresh
    set of filters for each pass over the program."""

    def __init__(self, repairs: list[Repair], rate: int, channels: int) -> None:
        self.repairs = repairs
        self.rate = rate
        self.channels = channels
        self.learned: Learned | None = None

    @classmethod
    def of(cls, edits: list[Edit], rate: int, channels: int) -> RepairChain | None:
        repairs: list[Repair] = [edit for edit in edits if isinstance(edit, Highpass | Dehum | Denoise | Deess | Level)]
        return cls(repairs, rate, channels) if repairs else None

    @property
    def needs_learning(self) -> bool:
        return any(
            isinstance(repair, Denoise | Level) or (isinstance(repair, Dehum) and repair.frequency == DETECT_HUM)
            for repair in self.repairs
        )

    def learn(self, chunks: Iterator[np.ndarray], check_cancel: CancelCheck, progress: Callable[[int], None]) -> None:
        """One pass over the source (``chunks``) gathering what the repairs need."""
        collector = _Collector(
            self.rate,
            self.channels,
            hum=any(isinstance(r, Dehum) and r.frequency == DETECT_HUM for r in self.repairs),
            noise=any(isinstance(r, Denoise) for r in self.repairs),
            levels=any(isinstance(r, Level) for r in self.repairs),
        )
        for chunk in chunks:
            collector.consume(chunk)
            progress(len(chunk))
            check_cancel()
        self.learned = collector.finish()

    def filters(self) -> list[StreamFilter]:
        learned = self.learned or Learned()
        filters: list[StreamFilter] = []
        graph_steps: list[tuple[str, str]] = []

        def end_graph() -> None:
            if graph_steps:
                filters.append(GraphFilter(self.rate, self.channels, list(graph_steps)))
                graph_steps.clear()

        nyquist = self.rate / 2
        for repair in self.repairs:
            if isinstance(repair, Highpass):
                # Two second-order sections: 24 dB per octave below the corner.
                graph_steps += [("highpass", f"f={repair.frequency}:p=2")] * 2
            elif isinstance(repair, Dehum):
                hum = repair.frequency if repair.frequency != DETECT_HUM else learned.hum_hz
                if hum is not None:
                    graph_steps += [
                        ("bandreject", f"f={hum * harmonic}:width_type=q:w={HUM_NOTCH_Q}")
                        for harmonic in range(1, repair.harmonics + 1)
                        if hum * harmonic < nyquist * 0.9
                    ]
            elif isinstance(repair, Deess):
                if repair.intensity > 0:
                    graph_steps.append(("deesser", f"i={repair.intensity}"))
            elif isinstance(repair, Denoise):
                end_graph()
                if learned.noise_power is not None:
                    filters.append(SpectralDenoiser(self.rate, self.channels, learned.noise_power, repair.reduction_db))
            else:
                end_graph()
                plan = self.level_plan(repair)
                if plan is not None:
                    filters.append(LevelFilter(plan, self.channels))
        end_graph()
        return filters

    def level_plan(self, repair: Level) -> LevelPlan | None:
        """The plan of ``repair`` from what was learned (``None`` before the levels are)."""
        if self.learned is None or self.learned.levels_db is None:
            return None
        block = max(1, round(LEVEL_BLOCK_S * self.rate))
        return plan_level(self.learned.levels_db, block, self.rate, repair.max_gain_db)

    def filters_at(self, frame: int) -> list[StreamFilter]:
        """A fresh set of filters for a stream starting at source frame ``frame``: the level plan's position is
        taken from it, the other filters start from silence (a context preview reads them in with a pre-roll)."""
        filters = self.filters()
        for stream_filter in filters:
            if isinstance(stream_filter, LevelFilter):
                stream_filter.start_at(frame)
        return filters


def learn_source(
    chain: RepairChain, path: SourceFile, *, check_cancel: CancelCheck, progress: Callable[[float], None], frames: int
) -> None:
    """Run ``chain``'s learning pass over the master at ``path`` (the chain's rate and channels)."""
    done = 0
    total = max(frames, 1)

    def advance(count: int) -> None:
        nonlocal done
        done += count
        progress(done / total)

    with open_source(path) as source:
        # Decoding on its own thread overlaps the FFTs of the learning, which release the GIL.
        chunks = BackgroundIterator(source.decode_chunks(rate=chain.rate, channels=chain.channels), "decoder")
        try:
            chain.learn(chunks, check_cancel, advance)
        finally:
            chunks.close()


def learn_windows(
    chain: RepairChain,
    path: SourceFile,
    windows: list[tuple[int, int]],
    *,
    frames: int,
    check_cancel: CancelCheck,
    levels_only: bool = False,
) -> None:
    """``learn_source`` over the source frames ``windows`` (start, end) of a ``frames``-long source only, each read
    by seeking: what a context preview learns from a bounded sample instead of the whole recording. ``windows`` are
    sorted whole seconds, so the hum's one-second segments and the level blocks start with each window; a noise
    block may straddle two windows. A level block outside every window measured so far is unknown, ``-inf``, which
    ``plan_level`` takes as silence. ``levels_only`` measures more windows' levels into what an earlier call
    learned."""
    collector = _Collector(
        chain.rate,
        chain.channels,
        hum=not levels_only and any(isinstance(r, Dehum) and r.frequency == DETECT_HUM for r in chain.repairs),
        noise=not levels_only and any(isinstance(r, Denoise) for r in chain.repairs),
        levels=any(isinstance(r, Level) for r in chain.repairs),
    )
    block = max(1, round(LEVEL_BLOCK_S * chain.rate))
    with open_source(path) as source:
        for start, end in windows:
            source.seek(start / chain.rate)
            position = None
            for chunk in source.decode_chunks(rate=chain.rate, channels=chain.channels):
                if position is None:
                    position = round(source.decoded_from_s * chain.rate)
                piece = chunk[max(start - position, 0) : max(end - position, 0)]
                position += len(chunk)
                if len(piece):
                    collector.consume(piece)
                check_cancel()
                if position >= end:
                    break
    learned = collector.finish()
    previous = chain.learned or Learned()
    if levels_only:
        learned.hum_hz, learned.noise_power = previous.hum_hz, previous.noise_power
        learned.noise_frames = previous.noise_frames
    if learned.levels_db is not None:
        levels = previous.levels_db
        if levels is None or not levels_only:
            levels = np.full(math.ceil(frames / block), -np.inf)
        measured = iter(learned.levels_db)
        for start, end in windows:
            first = start // block
            count = math.ceil((min(end, frames) - start) / block)
            levels[first : first + count] = [next(measured, -np.inf) for _ in range(count)]
        learned.levels_db = levels
    chain.learned = learned
