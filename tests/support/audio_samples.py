"""Test audio made on the spot with NumPy and PyAV: signals of known level, writers for every format we read,
and real bad files (empty, random bytes, text, an image, a silent video, a truncated MP3, a lying WAV header).

Signals are float32 arrays shaped (frames, channels) with samples in [-1, 1]; long signals come as iterators of
such chunks so a multi-hour file can be written with bounded memory.
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# container format, codec, sample format the encoder takes
FORMAT_CODECS: dict[str, tuple[str, str]] = {
    "wav": ("wav", "pcm_s16le"),
    "wav24": ("wav", "pcm_s24le"),
    "wavf32": ("wav", "pcm_f32le"),
    "mp3": ("mp3", "libmp3lame"),
    "flac": ("flac", "flac"),
    "m4a": ("ipod", "aac"),
    "opus": ("ogg", "libopus"),
    "alac": ("ipod", "alac"),
}


def db_to_amplitude(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def sine(
    seconds: float,
    *,
    rate: int = 48000,
    channels: int = 2,
    frequency: float = 997.0,
    peak_db: float = -20.0,
) -> np.ndarray:
    """A sine of ``peak_db`` dBFS peak amplitude in every channel."""
    frames = round(seconds * rate)
    phase = 2.0 * np.pi * frequency * np.arange(frames, dtype=np.float64) / rate
    wave = db_to_amplitude(peak_db) * np.sin(phase)
    return np.repeat(wave[:, np.newaxis], channels, axis=1).astype(np.float32)


def _syllables(rate: int, rng: np.random.Generator, count: int = 24) -> list[np.ndarray]:
    """A small bank of voiced syllables: harmonics of a gliding pitch under a smooth envelope."""
    bank = []
    for _ in range(count):
        length = int(rate * rng.uniform(0.12, 0.32))
        t = np.arange(length) / rate
        pitch = rng.uniform(95.0, 210.0) * (1.0 + 0.15 * np.sin(2 * np.pi * rng.uniform(1.0, 3.0) * t))
        phase = 2 * np.pi * np.cumsum(pitch) / rate
        formant = rng.uniform(500.0, 1200.0)
        voiced = np.zeros(length)
        for harmonic in range(1, 13):
            weight = 1.0 / harmonic * math.exp(-(((harmonic * 150.0 - formant) / 900.0) ** 2))
            voiced += weight * np.sin(harmonic * phase)
        noise = rng.normal(0.0, 0.05, length)
        envelope = np.sin(np.pi * np.arange(length) / length) ** 2
        syllable = (voiced + noise) * envelope
        bank.append(syllable / np.max(np.abs(syllable)))
    return bank


def speech_like(
    seconds: float,
    *,
    rate: int = 44100,
    channels: int = 1,
    peak_db: float = -3.0,
    seed: int = 7,
    chunk_frames: int = 1 << 16,
) -> Iterator[np.ndarray]:
    """Syllables of varying loudness with pauses (silence under faint noise), in chunks; exactly
    ``round(seconds * rate)`` frames in all."""
    rng = np.random.default_rng(seed)
    bank = _syllables(rate, rng)
    total = round(seconds * rate)
    peak = db_to_amplitude(peak_db)
    pending: list[np.ndarray] = []
    pending_frames = 0
    produced = 0
    while produced < total:
        while pending_frames < chunk_frames:
            if rng.random() < 0.2:
                segment = rng.normal(0.0, 1e-4, int(rate * rng.uniform(0.2, 0.9)))
            else:
                segment = bank[int(rng.integers(len(bank)))] * peak * rng.uniform(0.3, 1.0)
            pending.append(segment)
            pending_frames += len(segment)
        joined = np.concatenate(pending)
        take = min(chunk_frames, total - produced)
        chunk = joined[:take]
        pending = [joined[take:]]
        pending_frames = len(pending[0])
        produced += take
        yield np.repeat(chunk[:, np.newaxis], channels, axis=1).astype(np.float32)


def write_audio(
    path: Path,
    signal: np.ndarray | Iterable[np.ndarray],
    *,
    rate: int,
    kind: str = "wav",
    bitrate_kbps: int | None = None,
    tags: dict[str, str] | None = None,
    layout: str | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Encode float samples (an array or chunks shaped (frames, channels)) with PyAV; ``kind`` is a key of
    ``FORMAT_CODECS``. ``layout`` names the channel layout (default: mono, stereo or 5.1 by the channel count);
    ``options`` go to the muxer (e.g. ``movflags=faststart``)."""
    container_format, codec = FORMAT_CODECS[kind]
    chunks = [signal] if isinstance(signal, np.ndarray) else signal
    with av.open(str(path), "w", format=container_format, options=options or {}) as container:
        stream = None
        pts = 0
        for chunk in chunks:
            if stream is None:
                layout = layout or {1: "mono", 2: "stereo", 6: "5.1"}[chunk.shape[1]]
                stream = container.add_stream(codec, rate=rate, layout=layout)
                if bitrate_kbps:
                    stream.bit_rate = bitrate_kbps * 1000
                for key, value in (tags or {}).items():
                    container.metadata[key] = value
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(chunk.reshape(1, -1), dtype=np.float32), format="flt", layout=stream.layout.name
            )
            frame.sample_rate = rate
            frame.pts = pts
            frame.time_base = Fraction(1, rate)
            pts += chunk.shape[0]
            for packet in stream.encode(frame):
                container.mux(packet)
        if stream is not None:
            for packet in stream.encode(None):
                container.mux(packet)
    return path


def write_wav_pcm16(path: Path, signal: np.ndarray, *, rate: int, claimed_data_bytes: int | None = None) -> Path:
    """A canonical 44-byte-header PCM WAV written by hand; ``claimed_data_bytes`` makes the header lie."""
    pcm = np.clip(np.round(signal * 32767.0), -32768, 32767).astype("<i2")
    data = pcm.tobytes()
    channels = signal.shape[1]
    claimed = len(data) if claimed_data_bytes is None else claimed_data_bytes
    header = b"RIFF" + struct.pack("<I", (36 + claimed) & 0xFFFFFFFF) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * channels * 2, channels * 2, 16)
    header += b"data" + struct.pack("<I", claimed & 0xFFFFFFFF)
    path.write_bytes(header + data)
    return path


# -- bad files ----------------------------------------------------------------------------------------------


def write_empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def write_random_bytes(path: Path, size: int = 200_000, seed: int = 3) -> Path:
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path


def write_text(path: Path) -> Path:
    path.write_text("This is a shopping list, not a recording.\neggs\nmilk\n" * 200)
    return path


def write_png(path: Path, size: int = 32) -> Path:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + os.urandom(size * 3) for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    )
    return path


def write_silent_video(path: Path, seconds: float = 1.0) -> Path:
    """An MP4 with one MPEG-4 video stream and no audio stream."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width = 64
        stream.height = 48
        stream.pix_fmt = "yuv420p"
        for index in range(max(1, round(seconds * 10))):
            picture = np.full((48, 64, 3), index * 20 % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def truncate_file(source: Path, path: Path, keep_fraction: float) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep_fraction)])
    return path


def corrupt_flac(source: Path, path: Path, seed: int = 5) -> Path:
    """The FLAC ``source`` with its headers intact and every byte after its first frame header random: the
    stream opens, and nothing decodes."""
    data = source.read_bytes()
    first_frame = data.index(b"\xff\xf8", 42)
    keep = first_frame + 4
    rng = np.random.default_rng(seed)
    path.write_bytes(data[:keep] + rng.integers(0, 256, len(data) - keep, dtype=np.uint8).tobytes())
    return path


def corrupt_spans(source: Path, path: Path, *, fractions: Iterable[float], length: int = 400, seed: int = 1) -> Path:
    """``source`` with ``length`` random bytes written over it at each of ``fractions`` of its size: a few damaged
    frames in the middle of an otherwise good stream."""
    data = bytearray(source.read_bytes())
    rng = np.random.default_rng(seed)
    for fraction in fractions:
        start = int(len(data) * fraction)
        data[start : start + length] = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Decode a whole (short) file to float32 (frames, channels) at its own rate, for checks in tests."""
    chunks = []
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        resampler = None
        for frame in container.decode(stream):
            if resampler is None:
                resampler = av.AudioResampler(format="flt", layout=frame.layout.name, rate=frame.sample_rate)
            for converted in resampler.resample(frame):
                chunks.append(converted.to_ndarray().reshape(-1, len(converted.layout.channels)))
                rate = converted.sample_rate
        if resampler is not None:
            for converted in resampler.resample(None):
                chunks.append(converted.to_ndarray().reshape(-1, len(converted.layout.channels)))
    return np.concatenate(chunks).astype(np.float32), rate


def write_video_with_audio(path: Path, seconds: float = 2.0, rate: int = 48000) -> Path:
    """An MP4 with an MPEG-4 video stream first and an AAC sound track second."""
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width = 64
        video.height = 48
        video.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=rate, layout="stereo")
        for index in range(round(seconds * 10)):
            picture = np.full((48, 64, 3), index * 20 % 255, dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
            chunk = sine(0.1, rate=rate, channels=2, frequency=440.0, peak_db=-10.0)
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="stereo")
            frame.sample_rate = rate
            frame.pts = index * len(chunk)
            frame.time_base = Fraction(1, rate)
            for packet in audio.encode(frame):
                container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                container.mux(packet)
    return path
