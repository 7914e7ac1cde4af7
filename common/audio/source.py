"""Opening and decoding media: identify it by content, refuse what cannot be used, stream float samples.

The file is handed to FFmpeg as an anonymous byte stream, so a name or extension can never sway the probe. Only
the container formats in ``ALLOWED_FORMATS`` may be opened: FFmpeg refuses any other demuxer before it reads a
header (a ``concat`` script or an HLS playlist would otherwise open other files or URLs), and the demuxer may open
no protocol at all (``NO_PROTOCOLS``), so nothing is read besides the upload's own bytes.
``decode_chunks`` yields float32 arrays shaped (frames, channels) at the requested rate and channel count and
counts frames as they decode, so a header claiming a length is never trusted. More than two channels are mixed down
with FFmpeg's default matrix, normalised so that no output sample can exceed the loudest input sample (centre and
surrounds at -3 dB, LFE left out), as ``ffmpeg -ac 2`` does for integer output.

Damage is reported, never hidden: a file that ends before its own header says (a WAV ``data`` chunk, an MP3
Xing/Info/VBRI frame count, FLAC STREAMINFO, an MP4 ``moov``), that breaks off in damaged data, or whose packets fail
to decode or go missing mid-stream keeps what decodes, and ``OpenedSource.warnings`` says what was lost.
"""

from __future__ import annotations

import errno
import logging
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, Protocol

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

#: A file counts as cut short when decoding stops more than this far (or ``TRUNCATION_TOLERANCE_FRACTION`` of the
#: declared length, if more) before the length its header declares; encoder delay and padding stay well within it.
TRUNCATION_TOLERANCE_S = 0.5
TRUNCATION_TOLERANCE_FRACTION = 0.01
#: A jump forward in packet timestamps longer than this is audio missing mid-stream (a demuxer that skipped damaged
#: pages or frames); container timestamp rounding (1 ms in Matroska) stays far below it.
GAP_TOLERANCE_S = 0.05
# Containers whose header or index declares the stream's length (MP3 only with a Xing/Info/VBRI frame, WAV from its
# ``data`` chunk). Elsewhere FFmpeg estimates the length from the bit rate, which is no promise.
_DECLARING_FORMATS = frozenset({"flac", "mov"})
# A WAV ``data`` size of 0 or near 4 GiB is a streaming writer's placeholder, not a length.
_WAV_SIZE_PLACEHOLDER = 0xFFFFFF00
_HEAD_BYTES = 1 << 16
# Integer output makes swresample normalise its mixing matrix; s32 keeps 31 bits of the mix.
_DOWNMIX_FORMAT = "s32"
_S32_SCALE = 1.0 / 2**31

ProgressCallback = Callable[[float], None]
CancelCheck = Callable[[], None]


class OpenableFile(Protocol):
    """A file read through ``open`` rather than from a path: a media store's object read in byte ranges
    (``common.media_store.range_file.RangedObject``)."""

    @property
    def name(self) -> str: ...

    @property
    def size_bytes(self) -> int: ...

    def open(self) -> BinaryIO: ...


#: What can be opened as a source: a local file, or an ``OpenableFile``.
SourceFile = Path | OpenableFile


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


@dataclass(frozen=True, slots=True)
class MediaWarning:
    """Damage found while decoding that the job survived: a stable ``code`` and a human ``message``."""

    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class OpenedSource:
    """An open container with its audio stream, to be used as a context manager."""

    def __init__(self, path: SourceFile) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._container: av.container.InputContainer | None = None
        self._size = 0
        self._declared_s: float | None = None
        self.info: SourceInfo
        #: Where the first frame ``decode_chunks`` decoded starts, in seconds (after a ``seek``, at or before it).
        self.decoded_from_s = 0.0
        #: What decoding found damaged; complete once ``decode_chunks`` has run to its end.
        self.warnings: list[MediaWarning] = []

    def __enter__(self) -> OpenedSource:
        try:
            size = self.path.stat().st_size if isinstance(self.path, Path) else self.path.size_bytes
        except FileNotFoundError as exc:
            raise MediaError("The file to read is missing.", code="media_missing") from exc
        if size == 0:
            raise MediaError("The file is empty.", code="empty_media")
        self._size = size
        self._file = _open_binary(self.path)
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
        self._declared_s = _declared_duration_s(self.path, self._container)
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
        downmix = stream.codec_context.channels > 2
        resampler = av.AudioResampler(
            format=_DOWNMIX_FORMAT if downmix else "flt", layout="stereo" if channels == 2 else "mono", rate=rate
        )
        packets = _DecodeCount(stream.time_base)
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
                blocks = [_resampled(converted, channels) for converted in resampler.resample(frame)]
            for block in blocks:
                pending.append(block)
                pending_frames += len(block)
            if pending_frames >= CHUNK_FRAMES:
                produced += pending_frames
                _check_length(produced, max_frames, rate)
                yield _finite(_join(pending))
                pending, pending_frames = [], 0
        for converted in resampler.resample(None):
            pending.append(_resampled(converted, channels))
            pending_frames += len(pending[-1])
        produced += pending_frames
        _check_length(produced, max_frames, rate)
        if pending_frames:
            yield _finite(_join(pending))
        packets.check(produced, self._size)
        self.warnings = packets.warnings(produced / rate, self._declared_s)


def open_source(path: SourceFile) -> OpenedSource:
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
    """Counts packets that decoded and packets that failed, to tell a cut-short file from a corrupt one, and follows
    their timestamps to find where audio went missing and where decoding stopped."""

    def __init__(self, time_base: Fraction | None) -> None:
        self.good = 0
        self.bad = 0
        # Packets of one stream share its time base; a float keeps the per-packet sums cheap.
        self._seconds_per_tick = None if time_base is None else float(time_base)
        self.demux_failed = False
        self._origin_s: float | None = None
        self._end_s: float | None = None
        self._lost_s = 0.0
        self._lost_stretches = 0
        self._first_loss_s: float | None = None
        # Failed packets after the last good one: the cut-off end of a truncated file, not damage within it.
        self._trailing_bad = 0
        self._trailing_bad_s = 0.0

    def packet(self, packet: av.Packet, *, decoded: bool) -> None:
        if packet.size == 0:
            return
        start_s, length_s = self._span_s(packet)
        if start_s is not None:
            if self._origin_s is None:
                self._origin_s = start_s
            if self._end_s is not None and start_s - self._end_s > GAP_TOLERANCE_S:
                self._lose(self._end_s, start_s - self._end_s)
            self._end_s = start_s + length_s if self._end_s is None else max(self._end_s, start_s + length_s)
        if decoded:
            self.good += 1
            if self._trailing_bad:
                self._lose(self._end_s if start_s is None else start_s, self._trailing_bad_s)
                self._trailing_bad, self._trailing_bad_s = 0, 0.0
        else:
            self.bad += 1
            self._trailing_bad += 1
            self._trailing_bad_s += length_s

    def _span_s(self, packet: av.Packet) -> tuple[float | None, float]:
        """The packet's start (``None`` without a timestamp) and length in seconds."""
        tick = self._seconds_per_tick
        if tick is None:
            return None, 0.0
        return (None if packet.pts is None else packet.pts * tick), (packet.duration or 0) * tick

    def _lose(self, at_s: float | None, seconds: float) -> None:
        self._lost_s += seconds
        self._lost_stretches += 1
        if self._first_loss_s is None and at_s is not None:
            self._first_loss_s = at_s - (self._origin_s or 0.0)

    def _damage_message(self) -> str:
        at = "" if self._first_loss_s is None else f" at {clock(self._first_loss_s)}"
        if self._lost_stretches == 1:
            return f"A damaged stretch of audio ({self._lost_s:.1f} s){at} could not be decoded and was skipped."
        first = "" if self._first_loss_s is None else f", the first{at}"
        return (
            f"{self._lost_stretches} damaged stretches of audio ({self._lost_s:.1f} s in all) could not be decoded "
            f"and were skipped{first}."
        )

    def warnings(self, decoded_s: float, declared_s: float | None) -> list[MediaWarning]:
        found = []
        reached_s = decoded_s
        if self._end_s is not None:
            reached_s = max(decoded_s, self._end_s - (self._origin_s or 0.0) - self._trailing_bad_s)
        recovered = f"{clock(decoded_s)} of audio was recovered"
        if declared_s is not None and _falls_short(reached_s, declared_s):
            found.append(
                MediaWarning(
                    "truncated",
                    f"The file ends early: decoding stopped at {clock(reached_s)} of a declared {clock(declared_s)}; "
                    f"{recovered}.",
                )
            )
        elif self.demux_failed:
            found.append(
                MediaWarning(
                    "truncated",
                    f"The file is damaged after {clock(reached_s)}: reading stopped there; {recovered}.",
                )
            )
        elif self._trailing_bad:
            found.append(
                MediaWarning(
                    "truncated",
                    f"The file ends in an incomplete frame at {clock(reached_s)}: it may be cut short; {recovered}.",
                )
            )
        if self._lost_stretches:
            found.append(MediaWarning("damaged_audio", self._damage_message()))
        return found

    def check(self, produced_frames: int, file_bytes: int) -> None:
        if produced_frames == 0 and self.good + self.bad == 0 and file_bytes <= EMPTY_CONTAINER_MAX_BYTES:
            raise MediaError("The file contains no audio samples.", code="empty_media")
        if produced_frames == 0 or self.bad > MAX_BAD_PACKET_FRACTION * (self.good + self.bad):
            raise MediaError("The audio is damaged and cannot be decoded.", code="corrupt_media")


def _open_binary(path: SourceFile) -> BinaryIO:
    return path.open("rb") if isinstance(path, Path) else path.open()


def _head(path: SourceFile) -> bytes:
    with _open_binary(path) as file:
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
            count.demux_failed = True
            return
        # PyAV ends the stream with an empty packet that flushes the decoder; ``count`` ignores it.
        try:
            frames = packet.decode()
        except av.FFmpegError:
            count.packet(packet, decoded=False)
            continue
        count.packet(packet, decoded=True)
        yield from frames


def _falls_short(reached_s: float, declared_s: float) -> bool:
    return reached_s < declared_s - max(TRUNCATION_TOLERANCE_S, TRUNCATION_TOLERANCE_FRACTION * declared_s)


def _declared_duration_s(path: SourceFile, container: av.container.InputContainer) -> float | None:
    """The length the file's own header or index promises, or ``None`` when it promises none."""
    names = set(container.format.name.split(","))
    if "wav" in names:
        return _wav_declared_s(path)
    if "mp3" in names and not _has_mp3_length_frame(path):
        return None
    if not names & (_DECLARING_FORMATS | {"mp3"}):
        return None
    # The stream's own length only: the container's may be FFmpeg's estimate from the bit rate.
    stream = container.streams.audio[0]
    if stream.duration and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def _wav_declared_s(path: SourceFile) -> float | None:
    """The length a RIFF WAV's ``data`` chunk size promises at its ``fmt`` byte rate."""
    with _open_binary(path) as file:
        head = file.read(_HEAD_BYTES)
    if not (head.startswith(b"RIFF") and head[8:12] == b"WAVE"):
        return None
    offset = 12
    byte_rate = 0
    while offset + 8 <= len(head):
        kind = head[offset : offset + 4]
        (size,) = struct.unpack_from("<I", head, offset + 4)
        if kind == b"fmt " and offset + 16 <= len(head):
            (byte_rate,) = struct.unpack_from("<I", head, offset + 16)
        if kind == b"data":
            if byte_rate <= 0 or size == 0 or size >= _WAV_SIZE_PLACEHOLDER:
                return None
            return size / byte_rate
        offset += 8 + size + (size & 1)
    return None


def _has_mp3_length_frame(path: SourceFile) -> bool:
    """True when the first MPEG audio frame (after an ID3v2 tag) is a Xing, Info or VBRI frame, which counts the
    stream's frames; without one, FFmpeg's MP3 length is an estimate from the bit rate."""
    with _open_binary(path) as file:
        head = file.read(10)
        skip = 0
        if head.startswith(b"ID3") and len(head) == 10:
            size = (head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F)
            skip = 10 + size + (10 if head[5] & 0x10 else 0)
        file.seek(skip)
        frame = file.read(4096)
    return any(tag in frame for tag in (b"Xing", b"Info", b"VBRI"))


def clock(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``, as players show a position."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _resampled(frame: av.AudioFrame, channels: int) -> np.ndarray:
    samples = frame.to_ndarray().reshape(-1, channels)
    if samples.dtype == np.int32:
        return samples.astype(np.float32) * np.float32(_S32_SCALE)
    return samples


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
