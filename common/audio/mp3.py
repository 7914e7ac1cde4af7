"""Writing MP3 with LAME through the ``lameenc`` bindings: a constant-bitrate stream behind an ID3v2 tag and an
Info frame (``common.audio.mp3tag``) that records the exact length, so players trim LAME's encoder delay and end
padding (gapless) and know the duration without scanning.

LAME through ``lameenc`` encodes about three times faster than the LAME build bundled with PyAV's FFmpeg, which
made the encoder alone take as long as the rest of a render. The Info frame is written as a placeholder of its final
size first and filled in at ``finish``, when the frame count, the size and the CRC of the audio are known; memory
stays one write buffer whatever the duration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import lameenc
import numpy as np

from common.audio.background import BackgroundConsumer
from common.audio.chunks import ChunkConsumer
from common.audio.monitor import DecodingMonitor
from common.audio.mp3tag import StreamSummary, crc16, id3v2_tag, info_frame, info_frame_header, parse_header
from common.errors import MediaError
from common.render_options import BITRATE_RULES

# LAME's own default (what FFmpeg's libmp3lame and so our earlier encoder used): 2 costs twice the time for a
# difference nobody hears in speech at podcast bitrates.
LAME_QUALITY = 3
# Encoded bytes gathered before they are checksummed and written: a few seconds of audio.
WRITE_BUFFER_BYTES = 1 << 20
_FULL_SCALE = 32768.0


class Mp3Writer:
    """A chunk consumer (``common.audio.chunks``) writing float32 chunks shaped (frames, channels) to ``path`` as
    MP3; use it as a context manager. ``monitor`` gets the samples the MP3 frames decode to (encoder delay
    included, as ``common.audio.encode.AudioWriter`` gives them), decoded on a thread of their own; they have all
    been handed to it when ``finish`` returns."""

    def __init__(
        self,
        path: Path,
        *,
        rate: int,
        channels: int,
        bitrate_kbps: int | None = None,
        tags: dict[str, str] | None = None,
        monitor: ChunkConsumer[Any] | None = None,
        quality: int = LAME_QUALITY,
    ) -> None:
        self.path = path
        self.rate = rate
        self.channels = channels
        self.frames_written = 0
        self._bitrate_kbps = bitrate_kbps or BITRATE_RULES["mp3"][2]
        self._finished = False
        self._mp3_frames = 0
        self._audio_bytes = 0
        self._music_crc = 0
        self._unparsed = bytearray()
        self._complete = bytearray()
        try:
            self._info_header = info_frame_header(rate, channels, self._bitrate_kbps)
            self._encoder = lameenc.Encoder()
            self._encoder.silence()
            self._encoder.set_in_sample_rate(rate)
            # Without it LAME picks a lower output rate for low bitrates.
            self._encoder.set_out_sample_rate(rate)
            self._encoder.set_channels(channels)
            self._encoder.set_bit_rate(self._bitrate_kbps)
            self._encoder.set_quality(quality)
            # The first call initialises LAME, so bad parameters fail here rather than mid-render.
            self._encoder.encode(b"")
        except (RuntimeError, ValueError, KeyError) as exc:
            raise MediaError(
                f"Cannot write MP3 at {rate} Hz, {channels} channels, {self._bitrate_kbps} kbit/s: {exc}",
                code="encode_failed",
            ) from exc
        self._file = path.open("wb")
        self._file.write(id3v2_tag(tags or {}))
        self._info_offset = self._file.tell()
        self._file.write(info_frame(self._info_header, None))
        # Last, so a writer that failed to open leaves no thread behind.
        self._monitor = None if monitor is None else BackgroundConsumer(_FrameDecoder(channels, monitor), "mp3-monitor")

    def __enter__(self) -> Mp3Writer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        if exc_type is None and not self._finished:
            self.finish()
        else:
            self._file.close()
            if self._monitor is not None and not self._finished:
                self._monitor.abandon()

    def consume(self, chunk: np.ndarray) -> None:
        if len(chunk) == 0:
            return
        pcm = np.multiply(chunk, np.float32(_FULL_SCALE), dtype=np.float32)
        np.rint(pcm, out=pcm)
        np.clip(pcm, -_FULL_SCALE, _FULL_SCALE - 1, out=pcm)
        self.frames_written += len(chunk)
        self._take(self._encoder.encode(pcm.astype("<i2").tobytes()))

    def finish(self) -> int:
        """Flush the encoder, fill in the Info frame and close the file; returns the number of frames written."""
        self._take(self._encoder.flush())
        if self._unparsed:
            raise MediaError("LAME left a partial MP3 frame", code="encode_failed")
        self._write_complete()
        summary = StreamSummary(
            self._mp3_frames, self._audio_bytes, self._music_crc, self.frames_written, self._bitrate_kbps
        )
        self._file.seek(self._info_offset)
        self._file.write(info_frame(self._info_header, summary))
        self._file.close()
        if self._monitor is not None:
            self._monitor.finish()
        self._finished = True
        return self.frames_written

    def _take(self, encoded: bytes | bytearray) -> None:
        """Split what LAME returned into frames (a frame may straddle two calls) and pass the whole ones on."""
        self._unparsed += encoded
        data = self._unparsed
        offset = 0
        while len(data) - offset >= 4:
            try:
                header = parse_header(data, offset)
            except ValueError as exc:
                raise MediaError(f"LAME wrote an unreadable MP3 frame: {exc}", code="encode_failed") from exc
            end = offset + header.length
            if end > len(data):
                break
            self._mp3_frames += 1
            offset = end
        if self._monitor is not None and offset:
            self._monitor.consume(np.frombuffer(bytes(data[:offset]), dtype=np.uint8))
        self._complete += data[:offset]
        del data[:offset]
        if len(self._complete) >= WRITE_BUFFER_BYTES:
            self._write_complete()

    def _write_complete(self) -> None:
        self._music_crc = crc16(self._complete, self._music_crc)
        self._audio_bytes += len(self._complete)
        self._file.write(self._complete)
        self._complete.clear()


class _FrameDecoder:
    """The monitor's side of the writer, on its own thread (decoding would otherwise share the encoder's): consumes
    whole MP3 frames as bytes (a uint8 array) and passes their samples on through a ``DecodingMonitor``."""

    def __init__(self, channels: int, consumer: ChunkConsumer[Any]) -> None:
        self._monitor = DecodingMonitor("mp3float", channels, consumer)

    def consume(self, frames: np.ndarray) -> None:
        data = frames.tobytes()
        offset = 0
        while offset < len(data):
            end = offset + parse_header(data, offset).length
            self._monitor.consume_decoded(av.Packet(data[offset:end]))
            offset = end

    def finish(self) -> None:
        self._monitor.consume_decoded(None)
