"""Opening and decoding media: identify it by content, refuse what cannot be used, stream float samples.

The file is handed to FFmpeg as an anonymous byte stream, so a name or extension can never sway the probe. Only
the container formats in ``ALLOWED_FORMATS`` may be opened: FFmpeg refuses any other demuxer before it reads a
header (a ``concat`` script or an HLS playlist would otherwise open other files or URLs), and the demuxer may open
no protocol at all (``NO_PROTOCOLS``), so nothing is read besides the upload's own bytes.
``decode_chunks`` yields float32 arrays shaped (frames, channels) at the requested rate and channel count and
counts frames as they decode, so a header claiming a length is never trusted.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from common.errors import MediaError

logger = logging.getLogger(__name__)

MIN_NATIVE_RATE = 16000
MAX_NATIVE_RATE = 96000
FALLBACK_RATE = 48000
# A stream whose packets fail to decode more often than this is corrupt rather than merely cut short.
MAX_BAD_PACKET_FRACTION = 0.5
IO_BUFFER_BYTES = 1 << 16
CHUNK_FRAMES = 1 << 15
#: Decoded samples are clipped to this magnitude (+120 dBFS) and NaN becomes silence: a float source can hold
#: anything, and one infinite sample would make every loudness, peak and RMS measured from it infinite.
MAX_SAMPLE = 1e6
# A container with no audio packet is empty when it is about this small (headers only, like a 44-byte WAV or a
# FLAC with its padding); a bigger one whose bytes yield no packet at all is corrupt.
EMPTY_CONTAINER_MAX_BYTES = 16 * 1024
#: FFmpeg demuxer names (as ``container.format.name`` lists them) of every container we accept: WAV, Wave64, AIFF,
#: CAF, MP3, FLAC, Ogg (Opus, Vorbis, FLAC), ADTS AAC, MP4/M4A/MOV (AAC, ALAC), Matroska/WebM and AVI.
ALLOWED_FORMATS = ("wav", "w64", "aiff", "caf", "mp3", "flac", "ogg", "aac", "mov", "matroska", "webm", "avi")
#: A protocol whitelist that names no protocol: a demuxer can open nothing beyond the stream it was given.
NO_PROTOCOLS = "none"
_OPEN_OPTIONS = {"format_whitelist": ",".join(ALLOWED_FORMATS), "protocol_whitelist": NO_PROTOCOLS}
_IMAGE_CODECS = frozenset({"png", "mjpeg", "jpeg2000", "bmp", "gif", "webp", "tiff", "apng", "jpegls", "qoi"})

ProgressCallback = Callable[[float], None]
CancelCheck = Callable[[], None]


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What the probe found: the container and codec names and the audio stream's own format."""

    format: str
    codec: str
    sample_rate: int
    channels: int
    sample_format: str

    @property
    def master_rate(self) -> int:
        """The rate a master keeps: the source's when it lies in 16-96 kHz, else 48 kHz."""
        if MIN_NATIVE_RATE <= self.sample_rate <= MAX_NATIVE_RATE:
            return self.sample_rate
        return FALLBACK_RATE

    @property
    def master_channels(self) -> int:
        return min(self.channels, 2)


class OpenedSource:
    """An open container with its audio stream, to be used as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._container: av.container.InputContainer | None = None
        self._size = 0
        self.info: SourceInfo
        #: Where the first frame ``decode_chunks`` decoded starts, in seconds (after a ``seek``, at or before it).
        self.decoded_from_s = 0.0

    def __enter__(self) -> OpenedSource:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError as exc:
            raise MediaError("The file to read is missing.", code="media_missing") from exc
        if size == 0:
            raise MediaError("The file is empty.", code="empty_media")
        self._size = size
        self._file = self.path.open("rb")
        try:
            self._container = av.open(self._file, "r", buffer_size=IO_BUFFER_BYTES, options=_OPEN_OPTIONS)
        except av.FFmpegError as exc:
            head = _head(self.path)
            self.close()
            if exc.errno == errno.EINVAL:
                # FFmpeg recognised the content, but as a format not on the whitelist.
                raise MediaError(
                    "This file's format is not one we accept: upload audio (WAV, MP3, FLAC, Ogg, AAC/M4A, ALAC) "
                    "or a video file with sound (MP4, MOV, MKV, WebM, AVI).",
                    code="unsupported_media",
                ) from exc
            if _has_audio_signature(head):
                raise MediaError(
                    "This looks like an audio file, but it is damaged or cut short before any audio.",
                    code="corrupt_media",
                ) from exc
            raise MediaError(
                "This file is not an audio or video format we can read.", code="unsupported_media"
            ) from exc
        try:
            self.info = _describe(self._container)
        except MediaError:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def read_fraction(self) -> float:
        """How far into the file the demuxer has read, in 0..1: progress that needs no trusted duration."""
        if self._file is None or self._size == 0:
            return 0.0
        return min(1.0, self._file.tell() / self._size)

    def seek(self, seconds: float) -> None:
        """Make the next ``decode_chunks`` start at the last seek point at or before ``seconds`` (a FLAC master
        seeks to the frame holding it); ``decoded_from_s`` then says where decoding really started."""
        container = self._container
        if container is None:
            raise RuntimeError("source is not open")
        stream = container.streams.audio[0]
        if stream.time_base is None:
            raise MediaError("The audio stream has no time base to seek on.", code="corrupt_media")
        container.seek(max(int(seconds / stream.time_base), 0), stream=stream, backward=True)

    def decode_chunks(self, *, rate: int, channels: int, max_frames: int | None = None) -> Iterator[np.ndarray]:
        """Float32 chunks shaped (frames, ``channels``) at ``rate``, about ``CHUNK_FRAMES`` long. Raises
        ``MediaError`` with ``too_long`` as soon as more than ``max_frames`` decode, ``empty_media`` /
        ``corrupt_media`` when nothing usable decodes."""
        container = self._container
        if container is None:
            raise RuntimeError("source is not open")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="stereo" if channels == 2 else "mono", rate=rate)
        packets = _DecodeCount()
        pending: list[np.ndarray] = []
        pending_frames = 0
        produced = 0
        first = True
        for frame in _decoded_frames(container, stream, packets):
            if first:
                self.decoded_from_s = float(frame.time or 0.0)
                first = False
            if _is_float_at(frame, rate, channels):
                blocks = [_float_samples(frame)]
            else:
                blocks = [converted.to_ndarray().reshape(-1, channels) for converted in resampler.resample(frame)]
            for block in blocks:
                pending.append(block)
                pending_frames += len(block)
            if pending_frames >= CHUNK_FRAMES:
                produced += pending_frames
                _check_length(produced, max_frames, rate)
                yield _finite(_join(pending))
                pending, pending_frames = [], 0
        for converted in resampler.resample(None):
            pending.append(converted.to_ndarray().reshape(-1, channels))
            pending_frames += len(pending[-1])
        produced += pending_frames
        _check_length(produced, max_frames, rate)
        if pending_frames:
            yield _finite(_join(pending))
        packets.check(produced, self._size)


def open_source(path: Path) -> OpenedSource:
    """Open ``path`` for probing and decoding (use as ``with open_source(path) as source:``)."""
    return OpenedSource(path)


def _describe(container: av.container.InputContainer) -> SourceInfo:
    audio_streams = container.streams.audio
    if not audio_streams:
        video = container.streams.video
        if video and all(stream.codec_context.name in _IMAGE_CODECS for stream in video):
            raise MediaError("This file is an image, not audio.", code="unsupported_media")
        if video:
            raise MediaError("This video has no sound track.", code="no_audio_stream")
        raise MediaError("This file contains no audio stream.", code="no_audio_stream")
    stream = audio_streams[0]
    context = stream.codec_context
    if context.sample_rate <= 0 or context.channels <= 0:
        raise MediaError("The audio stream is damaged: it has no sample rate or channels.", code="corrupt_media")
    return SourceInfo(
        format=container.format.name,
        codec=context.name,
        sample_rate=context.sample_rate,
        channels=context.channels,
        sample_format=context.format.name if context.format is not None else "unknown",
    )


class _DecodeCount:
    """Counts packets that decoded and packets that failed, to tell a cut-short file from a corrupt one."""

    def __init__(self) -> None:
        self.good = 0
        self.bad = 0

    def check(self, produced_frames: int, file_bytes: int) -> None:
        if produced_frames == 0 and self.good + self.bad == 0 and file_bytes <= EMPTY_CONTAINER_MAX_BYTES:
            raise MediaError("The file contains no audio samples.", code="empty_media")
        if produced_frames == 0 or self.bad > MAX_BAD_PACKET_FRACTION * (self.good + self.bad):
            raise MediaError("The audio is damaged and cannot be decoded.", code="corrupt_media")


def _head(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(16)


def _has_audio_signature(head: bytes) -> bool:
    """True when the first bytes name an audio container (ID3-tagged MP3, FLAC, Ogg, WAV, AIFF, MP4)."""
    return (
        head.startswith((b"ID3", b"fLaC", b"OggS", b"FORM"))
        or (head.startswith(b"RIFF") and head[8:12] == b"WAVE")
        or head[4:8] == b"ftyp"
    )


def _decoded_frames(
    container: av.container.InputContainer, stream: av.AudioStream, count: _DecodeCount
) -> Iterator[av.AudioFrame]:
    """Decoded frames of ``stream``. A packet that fails to decode is skipped and counted; a demuxer error ends
    the stream, so a truncated file keeps what it had."""
    demuxer = container.demux(stream)
    while True:
        try:
            packet = next(demuxer)
        except StopIteration:
            return
        except av.FFmpegError as exc:
            logger.debug("demuxing stopped early: %s", exc)
            return
        # PyAV ends the stream with an empty packet that flushes the decoder; it is not data.
        has_data = packet.size > 0
        try:
            frames = packet.decode()
        except av.FFmpegError:
            count.bad += has_data
            continue
        count.good += has_data
        yield from frames


def _is_float_at(frame: av.AudioFrame, rate: int, channels: int) -> bool:
    """True when ``frame`` is already float samples at ``rate`` in ``channels`` channels (mono, or stereo in the
    standard order): the common case of MP3, AAC and Opus sources, which then skip the resampler."""
    if frame.format.name not in ("flt", "fltp") or frame.sample_rate != rate:
        return False
    layout = frame.layout.name
    return (channels, layout) in ((1, "mono"), (2, "stereo"))


def _float_samples(frame: av.AudioFrame) -> np.ndarray:
    samples = frame.to_ndarray()
    return samples.T if frame.format.is_planar else samples.reshape(-1, len(frame.layout.channels))


def _join(blocks: list[np.ndarray]) -> np.ndarray:
    return np.ascontiguousarray(blocks[0]) if len(blocks) == 1 else np.concatenate(blocks)


def _finite(chunk: np.ndarray) -> np.ndarray:
    # One cheap pass for the usual chunk; NaN fails the comparison too.
    if np.abs(chunk).max() <= MAX_SAMPLE:
        return chunk
    return np.clip(np.nan_to_num(chunk, nan=0.0, posinf=MAX_SAMPLE, neginf=-MAX_SAMPLE), -MAX_SAMPLE, MAX_SAMPLE)


def _check_length(produced_frames: int, max_frames: int | None, rate: int) -> None:
    if max_frames is not None and produced_frames > max_frames:
        hours = max_frames / rate / 3600
        raise MediaError(f"The recording is longer than the {hours:g}-hour limit.", code="too_long")
