"""Writing float samples to a file with PyAV: one writer for masters, previews and renders.

Chunks of any size are accepted; PyAV regroups them into the codec's frame size and converts the sample format.
The muxers keep gapless information (MP3 LAME/Xing tag with encoder delay and padding, the MP4 edit list for AAC
priming, Opus pre-skip and end trimming), so decoders give back exactly the frames written.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from common.audio.chunks import ChunkConsumer
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
    "mp3": Encoding("mp3", "libmp3lame", "mp3"),
    "m4a": Encoding("ipod", "aac", "m4a"),
    "opus": Encoding("ogg", "libopus", "opus"),
}


MONITOR_CHUNK_FRAMES = 1 << 15
# The decoder that reads what each encoder writes.
_DECODERS = {
    "flac": "flac",
    "pcm_s16le": "pcm_s16le",
    "libmp3lame": "mp3float",
    "aac": "aac",
    "libopus": "libopus",
}


class AudioWriter:
    """A chunk consumer (``common.audio.chunks``) writing float32 chunks shaped (frames, channels) to ``path``;
    use it as a context manager. ``monitor`` gets the samples decoded back from the packets written (the file as a
    player hears it, encoder delay included), so a lossy file is measured without reading it again."""

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
        codec_options: dict[str, str] | None = None,
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
            if codec_options:
                self._stream.codec_context.options = dict(codec_options)
            for key, value in (tags or {}).items():
                self._container.metadata[key] = value
            self._monitor = None if monitor is None else _Monitor(stream, monitor)
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


class _Monitor:
    """Decodes the packets a writer muxes, as a player decodes the file, and feeds the samples to a consumer in
    chunks of about ``MONITOR_CHUNK_FRAMES`` (a codec frame at a time would cost a thread hand-off each)."""

    def __init__(self, stream: av.AudioStream, consumer: ChunkConsumer[Any]) -> None:
        self._stream = stream
        self._decoder: av.AudioCodecContext | None = None
        self._consumer = consumer
        self._pending: list[np.ndarray] = []
        self._pending_frames = 0

    def consume_decoded(self, packet: av.Packet | None) -> None:
        if self._decoder is None:
            # Created at the first packet: only an opened encoder has its header (extradata) ready.
            encoder = self._stream.codec_context
            decoder = av.CodecContext.create(_DECODERS[encoder.name], "r")
            if not isinstance(decoder, av.AudioCodecContext):
                raise TypeError(f"{encoder.name} has no audio decoder")
            if encoder.extradata is not None:
                decoder.extradata = encoder.extradata
            self._decoder = decoder
        channels = self._stream.codec_context.channels
        for frame in self._decoder.decode(packet):
            samples = frame.to_ndarray()
            self._pending.append(samples.T if frame.format.is_planar else samples.reshape(-1, channels))
            self._pending_frames += frame.samples
        if self._pending and (packet is None or self._pending_frames >= MONITOR_CHUNK_FRAMES):
            self._consumer.consume(np.concatenate(self._pending).astype(np.float32, copy=False))
            self._pending = []
            self._pending_frames = 0
