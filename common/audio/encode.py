"""Writing float samples to a file: ``open_writer`` for masters, previews and renders. MP3 goes through LAME
directly (``common.audio.mp3``); every other format through PyAV.

Chunks of any size are accepted; PyAV regroups them into the codec's frame size and converts the sample format.
Every file keeps its gapless information (the MP3 Info frame with encoder delay and padding, the MP4 edit list for
AAC priming, Opus pre-skip and end trimming), so decoders give back exactly the frames written.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from common.audio.chunks import ChunkConsumer
from common.audio.monitor import DecodingMonitor
from common.audio.mp3 import LAME_QUALITY, Mp3Writer
from common.errors import MediaError


@dataclass(frozen=True, slots=True)
class Encoding:
    container_format: str
    codec: str
    extension: str
    sample_format: str | None = None


ENCODINGS: dict[str, Encoding] = {
    "flac": Encoding("flac", "flac", "flac"),
    "flac24": Encoding("flac", "flac", "flac", "s32"),
    "wav": Encoding("wav", "pcm_s16le", "wav"),
    "m4a": Encoding("ipod", "aac", "m4a"),
    "opus": Encoding("ogg", "libopus", "opus"),
}

FILE_EXTENSIONS = {"mp3": "mp3", **{name: spec.extension for name, spec in ENCODINGS.items()}}
# The decoder that reads what each encoder writes.
_DECODERS = {
    "flac": "flac",
    "pcm_s16le": "pcm_s16le",
    "aac": "aac",
    "libopus": "libopus",
}


def open_writer(
    path: Path,
    encoding: str,
    *,
    rate: int,
    channels: int,
    bitrate_kbps: int | None = None,
    tags: dict[str, str] | None = None,
    monitor: ChunkConsumer[Any] | None = None,
    mp3_quality: int = LAME_QUALITY,
) -> AudioWriter | Mp3Writer:
    """The writer for ``encoding`` (a key of ``FILE_EXTENSIONS``); both kinds take the same arguments, and an MP3
    writer LAME's ``mp3_quality`` (0 best .. 9 fastest)."""
    if encoding == "mp3":
        return Mp3Writer(
            path,
            rate=rate,
            channels=channels,
            bitrate_kbps=bitrate_kbps,
            tags=tags,
            monitor=monitor,
            quality=mp3_quality,
        )
    return AudioWriter(
        path, encoding, rate=rate, channels=channels, bitrate_kbps=bitrate_kbps, tags=tags, monitor=monitor
    )


class AudioWriter:
    """A chunk consumer (``common.audio.chunks``) writing float32 chunks shaped (frames, channels) to ``path`` with
    PyAV, in any encoding of ``ENCODINGS``; use it as a context manager. ``monitor`` gets the samples decoded back
    from the packets written (the file as a player hears it, encoder delay included), so a lossy file is measured
    without reading it again."""

    def __init__(
        self,
        path: Path,
        encoding: str,
        *,
        rate: int,
        channels: int,
        bitrate_kbps: int | None = None,
        tags: dict[str, str] | None = None,
        monitor: ChunkConsumer[Any] | None = None,
    ) -> None:
        spec = ENCODINGS[encoding]
        self.path = path
        self.rate = rate
        self.channels = channels
        self.frames_written = 0
        self._finished = False
        self._layout = "stereo" if channels == 2 else "mono"
        self._container = av.open(str(path), "w", format=spec.container_format)
        try:
            stream = self._container.add_stream(spec.codec, rate=rate, layout=self._layout)
            if not isinstance(stream, av.AudioStream):
                raise ValueError(f"{spec.codec} is not an audio codec")
            self._stream = stream
            if spec.sample_format is not None:
                self._stream.codec_context.format = spec.sample_format
            if bitrate_kbps is not None:
                self._stream.bit_rate = bitrate_kbps * 1000
            for key, value in (tags or {}).items():
                self._container.metadata[key] = value
            self._monitor = (
                None
                if monitor is None
                else DecodingMonitor(
                    _DECODERS[spec.codec], channels, monitor, extradata=lambda: self._stream.codec_context.extradata
                )
            )
        except (av.FFmpegError, ValueError) as exc:
            self._container.close()
            raise MediaError(f"Cannot write {encoding} at {rate} Hz: {exc}", code="encode_failed") from exc

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        if exc_type is None and not self._finished:
            self.finish()
        else:
            self._container.close()

    def consume(self, chunk: np.ndarray) -> None:
        if len(chunk) == 0:
            return
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(chunk, dtype=np.float32).reshape(1, -1), format="flt", layout=self._layout
        )
        frame.sample_rate = self.rate
        frame.pts = self.frames_written
        frame.time_base = Fraction(1, self.rate)
        self.frames_written += len(chunk)
        self._mux(self._stream.encode(frame))

    def finish(self) -> int:
        """Flush the encoder and close the file; returns the number of frames written."""
        self._mux(self._stream.encode(None))
        self._container.close()
        self._finished = True
        if self._monitor is not None:
            self._monitor.consume_decoded(None)
        return self.frames_written

    def _mux(self, packets: list[av.Packet]) -> None:
        self._container.mux(packets)
        if self._monitor is not None:
            for packet in packets:
                self._monitor.consume_decoded(packet)
