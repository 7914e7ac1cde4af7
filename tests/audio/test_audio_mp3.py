"""The MP3 writer: files decode with PyAV (FFmpeg) to exactly the samples written, aligned (gapless), at the right
rate and duration, with an Info frame whose fields match the stream as parsed here independently."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from common.audio.mp3 import Mp3Writer
from common.audio.mp3tag import crc16
from common.errors import MediaError
from tests.support.audio_samples import read_audio, speech_like

# (rate, channels, kbit/s): MPEG-1, MPEG-2 and MPEG-2.5 layer III, mono and stereo, a low bitrate whose frames are
# smaller than the Info tag.
STREAMS = [(44100, 1, 128), (48000, 2, 192), (22050, 2, 64), (8000, 1, 32), (32000, 1, 32)]
SECONDS = 3.0
ODD_FRAMES = 1234
# FFmpeg's layer III decoder delay, which players add to the encoder delay the tag records.
DECODER_DELAY = 529
TAGS = {"title": "Chapter 1: Début", "artist": "A. Reader", "album": "The Book", "comment": "made in a test"}


def _crc16_reference(data: bytes) -> int:
    """CRC-16/ARC bit by bit, straight from its definition (reflected polynomial 0xA001, initial value 0)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


@dataclass(frozen=True)
class ParsedFile:
    id3_bytes: int
    info: bytes
    xing_offset: int
    audio_frames: list[bytes]
    samples_per_frame: int
    rate: int


def _parse(path: Path) -> ParsedFile:
    """The file split into its ID3 tag, Info frame and audio frames, by the header layout of ISO 11172-3 / 13818-3."""
    data = path.read_bytes()
    id3 = 0
    if data[:3] == b"ID3":
        id3 = 10 + sum(byte << (7 * (3 - i)) for i, byte in enumerate(data[6:10]))
    frames, offset = [], id3
    rate = samples = 0
    while offset < len(data):
        word = int.from_bytes(data[offset : offset + 4], "big")
        assert word >> 21 == 0x7FF, f"lost sync at byte {offset}"
        version = (word >> 19) & 3
        rate = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}[version][(word >> 10) & 3]
        table = (
            (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
            if version == 3
            else (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
        )
        kbps = table[(word >> 12) & 15]
        length = (144 if version == 3 else 72) * kbps * 1000 // rate + ((word >> 9) & 1)
        samples = 1152 if version == 3 else 576
        frames.append(data[offset : offset + length])
        offset += length
    assert offset == len(data)
    info = frames[0]
    mono = (int.from_bytes(info[:4], "big") >> 6) & 3 == 3
    side_info = (17 if mono else 32) if samples == 1152 else (9 if mono else 17)
    return ParsedFile(id3, info, 4 + side_info, frames[1:], samples, rate)


def _write(path: Path, signal: np.ndarray, rate: int, kbps: int, tags: dict[str, str] | None = None) -> Path:
    with Mp3Writer(path, rate=rate, channels=signal.shape[1], bitrate_kbps=kbps, tags=tags) as writer:
        # Chunks of an odd size: frames straddle LAME's outputs.
        for start in range(0, len(signal), 7777):
            writer.consume(signal[start : start + 7777])
    return path


def _speech(rate: int, channels: int) -> np.ndarray:
    signal = np.concatenate(list(speech_like(SECONDS, rate=rate, channels=channels, peak_db=-3.0)))
    return np.concatenate([signal, signal[:ODD_FRAMES]])


@pytest.mark.parametrize(("rate", "channels", "kbps"), STREAMS)
def test_the_file_decodes_to_the_samples_written_aligned_at_its_rate(
    tmp_path: Path, rate: int, channels: int, kbps: int
) -> None:
    signal = _speech(rate, channels)

    path = _write(tmp_path / "out.mp3", signal, rate, kbps)

    decoded, decoded_rate = read_audio(path)
    assert decoded_rate == rate
    assert decoded.shape == signal.shape
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.sample_rate == rate
        assert stream.duration is not None
        assert stream.time_base is not None
        duration_s = float(stream.duration * stream.time_base)
    assert abs(duration_s - len(signal) / rate) <= 1152 / rate
    # Gapless: the decoded samples line up with the source (a shift of one sample would cost far more).
    middle = slice(2000, len(signal) - 2000)
    errors = {lag: float(np.mean((np.roll(decoded, lag, axis=0)[middle] - signal[middle]) ** 2)) for lag in (-1, 0, 1)}
    assert min(errors, key=errors.__getitem__) == 0
    assert errors[0] < 0.75 * min(errors[1], errors[-1])


@pytest.mark.parametrize(("rate", "channels", "kbps"), STREAMS)
def test_the_info_frame_records_the_stream(tmp_path: Path, rate: int, channels: int, kbps: int) -> None:
    signal = _speech(rate, channels)

    path = _write(tmp_path / "out.mp3", signal, rate, kbps)

    parsed = _parse(path)
    info, xing = parsed.info, parsed.xing_offset
    assert info[xing : xing + 4] == b"Info"
    assert int.from_bytes(info[xing + 4 : xing + 8], "big") == 0x0F
    frames = int.from_bytes(info[xing + 8 : xing + 12], "big")
    stream_bytes = int.from_bytes(info[xing + 12 : xing + 16], "big")
    audio = b"".join(parsed.audio_frames)
    assert frames == len(parsed.audio_frames)
    assert stream_bytes == path.stat().st_size - parsed.id3_bytes == len(info) + len(audio)
    lame = xing + 120
    assert info[lame : lame + 4] == b"LAME"
    assert info[lame + 20] == kbps
    delays = int.from_bytes(info[lame + 21 : lame + 24], "big")
    delay, padding = delays >> 12, delays & 0xFFF
    assert delay == 576
    assert frames * parsed.samples_per_frame - delay - padding == len(signal)
    assert int.from_bytes(info[lame + 28 : lame + 32], "big") == stream_bytes
    assert int.from_bytes(info[lame + 32 : lame + 34], "big") == _crc16_reference(audio)
    assert int.from_bytes(info[lame + 34 : lame + 36], "big") == _crc16_reference(info[: lame + 34])


def test_gapless_trimming_removes_exactly_the_recorded_delay_and_padding(tmp_path: Path) -> None:
    rate = 44100
    signal = _speech(rate, 1)
    path = _write(tmp_path / "out.mp3", signal, rate, 128)
    parsed = _parse(path)
    lame = parsed.xing_offset + 120
    delays = int.from_bytes(parsed.info[lame + 21 : lame + 24], "big")

    # Decoded frame by frame, as a player unaware of the tag would: every sample of every audio frame.
    decoder = av.CodecContext.create("mp3float", "r")
    assert isinstance(decoder, av.AudioCodecContext)
    raw = [frame.to_ndarray()[0] for packet in parsed.audio_frames for frame in decoder.decode(av.Packet(packet))]
    raw += [frame.to_ndarray()[0] for frame in decoder.decode(None)]
    untrimmed = np.concatenate(raw)
    trimmed, _rate = read_audio(path)

    delay, padding = delays >> 12, delays & 0xFFF
    assert len(untrimmed) == len(parsed.audio_frames) * parsed.samples_per_frame
    assert len(trimmed) == len(untrimmed) - delay - padding == len(signal)
    # The untrimmed stream starts with the encoder's and the decoder's delay: the trimmed file starts after both.
    start = delay + DECODER_DELAY
    assert np.allclose(
        trimmed[: len(signal) - DECODER_DELAY, 0], untrimmed[start : start + len(signal) - DECODER_DELAY]
    )


def test_tags_are_written_as_id3(tmp_path: Path) -> None:
    path = _write(tmp_path / "out.mp3", _speech(44100, 2), 44100, 128, TAGS)

    with av.open(str(path)) as container:
        assert dict(container.metadata) == {**TAGS, "encoder": "LAME3.100"}


@pytest.mark.parametrize("length", [0, 1, 2, 1023, 1024, 1025, 5000, 70_001])
def test_crc16_matches_its_definition_and_continues(length: int) -> None:
    data = os.urandom(length)

    assert crc16(data) == _crc16_reference(data)
    split = length // 3
    assert crc16(data[split:], crc16(data[:split])) == _crc16_reference(data)
    assert crc16(b"123456789") == 0xBB3D


def test_a_rate_mp3_cannot_carry_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    class Collector:
        def consume(self, chunk: np.ndarray) -> None:
            raise AssertionError("nothing should be decoded")

        def finish(self) -> None:
            return None

    with pytest.raises(MediaError) as caught:
        Mp3Writer(tmp_path / "out.mp3", rate=96000, channels=1, monitor=Collector())

    assert caught.value.code == "encode_failed"
    assert not (tmp_path / "out.mp3").exists()
    assert not any(thread.name == "mp3-monitor" for thread in threading.enumerate())
