"""MPEG audio layer III framing for the MP3 writer: frame headers, the Xing/Info frame with its LAME extension
(frame count, stream size, seek table, encoder delay and padding, CRCs), the ID3v2.4 tag, and CRC-16.

The Info frame is what tells a player an MP3's exact length: without it a decoder plays LAME's encoder delay and
end padding as silence, and has to scan the whole file to know its duration. The layout is LAME's
(https://wiki.hydrogenaud.io/index.php?title=LAME#VBR_header_and_LAME_tag): FFmpeg, Apple's and most hardware
decoders read it. Fields only LAME's own front end knows (low-pass, noise shaping, presets) are left at zero,
which the format defines as "unknown".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

LAYER3_BITRATES_KBPS = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
# rate -> (version bits of the header: 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5; sampling rate index)
_RATE_CODES = {
    44100: (3, 0),
    48000: (3, 1),
    32000: (3, 2),
    22050: (2, 0),
    24000: (2, 1),
    16000: (2, 2),
    11025: (0, 0),
    12000: (0, 1),
    8000: (0, 2),
}
_RATES_BY_CODE = {codes: rate for rate, codes in _RATE_CODES.items()}
# LAME's encoder delay when it does not resample: the samples its MDCT adds before the first input sample.
LAME_ENCODER_DELAY = 576
LAME_VERSION = b"LAME3.100"
_INFO_FLAGS = 0x0F  # frame count, byte count, seek table, quality
_TOC_ENTRIES = 100
# The Xing part (tag, flags, frames, bytes, table, quality) and LAME's extension after it.
_XING_BYTES = 4 + 4 + 4 + 4 + _TOC_ENTRIES + 4
_LAME_BYTES = 36
_CBR_METHOD = 1
_CRC_BLOCK_BYTES = 1024


@dataclass(frozen=True, slots=True)
class FrameHeader:
    """The fields of a layer III frame header this writer needs."""

    version: int
    rate: int
    bitrate_kbps: int
    padding: int
    channel_mode: int

    @property
    def mpeg1(self) -> bool:
        return self.version == 3

    @property
    def samples(self) -> int:
        return 1152 if self.mpeg1 else 576

    @property
    def length(self) -> int:
        return (144 if self.mpeg1 else 72) * self.bitrate_kbps * 1000 // self.rate + self.padding

    @property
    def side_info_bytes(self) -> int:
        mono = self.channel_mode == 3
        if self.mpeg1:
            return 17 if mono else 32
        return 9 if mono else 17


def parse_header(data: bytes | bytearray | memoryview, offset: int = 0) -> FrameHeader:
    """The layer III frame header at ``offset``; ``ValueError`` when there is none."""
    if len(data) - offset < 4:
        raise ValueError("truncated MP3 frame header")
    word = int.from_bytes(data[offset : offset + 4], "big")
    version = (word >> 19) & 3
    rate = _RATES_BY_CODE.get((version, (word >> 10) & 3))
    bitrate_index = (word >> 12) & 15
    if word >> 21 != 0x7FF or (word >> 17) & 3 != 1 or rate is None or bitrate_index in (0, 15):
        raise ValueError(f"no MPEG layer III frame header at byte {offset}")
    bitrate = LAYER3_BITRATES_KBPS[1 if version == 3 else 2][bitrate_index]
    return FrameHeader(version, rate, bitrate, (word >> 9) & 1, (word >> 6) & 3)


@dataclass(frozen=True, slots=True)
class StreamSummary:
    """What the Info frame records about the audio frames after it."""

    frames: int
    audio_bytes: int
    music_crc: int
    samples: int
    bitrate_kbps: int


def info_frame_header(rate: int, channels: int, bitrate_kbps: int) -> FrameHeader:
    """The header of the Info frame for a stream: its rate and channel mode, at the smallest bitrate from the
    stream's up whose frame holds the tag (at low bitrates a frame is smaller than the tag, as LAME does too)."""
    version, _index = _RATE_CODES[rate]
    table = LAYER3_BITRATES_KBPS[1 if version == 3 else 2]
    mode = 3 if channels == 1 else 1
    for bitrate in table[1:]:
        if bitrate < bitrate_kbps:
            continue
        header = FrameHeader(version, rate, bitrate, 0, mode)
        if 4 + header.side_info_bytes + _XING_BYTES + _LAME_BYTES <= header.length:
            return header
    raise ValueError(f"no layer III frame at {rate} Hz holds an Info tag")


def info_frame(header: FrameHeader, summary: StreamSummary | None) -> bytes:
    """The Info frame: ``header``, empty side information, the Xing part and LAME's extension. ``None``: the
    placeholder written before the stream's size is known (same size, counts at zero)."""
    version, rate_index = _RATE_CODES[header.rate]
    table = LAYER3_BITRATES_KBPS[1 if header.mpeg1 else 2]
    word = (0x7FF << 21) | (version << 19) | (1 << 17) | (1 << 16)  # layer III, no CRC protection
    word |= (table.index(header.bitrate_kbps) << 12) | (rate_index << 10) | (header.channel_mode << 6)
    frame = bytearray(header.length)
    frame[0:4] = word.to_bytes(4, "big")
    if summary is None:
        return bytes(frame)
    xing = 4 + header.side_info_bytes
    total_bytes = header.length + summary.audio_bytes
    toc = bytes(i * 256 // _TOC_ENTRIES for i in range(_TOC_ENTRIES))
    frame[xing : xing + _XING_BYTES] = (
        b"Info" + struct.pack(">III", _INFO_FLAGS, summary.frames, total_bytes) + toc + struct.pack(">I", 0)
    )
    padding = summary.frames * header.samples - LAME_ENCODER_DELAY - summary.samples
    if not 0 <= padding < 1 << 12:
        raise ValueError(f"MP3 end padding of {padding} samples cannot be recorded")
    lame = xing + _XING_BYTES
    frame[lame : lame + 9] = LAME_VERSION
    frame[lame + 9] = _CBR_METHOD
    # Low-pass (byte 10), replay gain (11..18) and encoding flags (19): unknown, zero.
    frame[lame + 20] = min(summary.bitrate_kbps, 255)
    frame[lame + 21 : lame + 24] = ((LAME_ENCODER_DELAY << 12) | padding).to_bytes(3, "big")
    frame[lame + 24] = _source_rate_code(header.rate) << 6 | _stereo_mode_code(header.channel_mode) << 2
    # MP3 gain (25) and preset (26..27): unused, zero.
    frame[lame + 28 : lame + 32] = total_bytes.to_bytes(4, "big")
    frame[lame + 32 : lame + 34] = summary.music_crc.to_bytes(2, "big")
    frame[lame + 34 : lame + 36] = crc16(bytes(frame[: lame + 34])).to_bytes(2, "big")
    return bytes(frame)


def _source_rate_code(rate: int) -> int:
    if rate <= 32000:
        return 0
    return {44100: 1, 48000: 2}.get(rate, 3)


def _stereo_mode_code(channel_mode: int) -> int:
    # Header modes (0 stereo, 1 joint, 2 dual, 3 mono) in LAME's numbering (0 mono, 1 stereo, 2 dual, 3 joint).
    return {0: 1, 1: 3, 2: 2, 3: 0}[channel_mode]


# ID3v2 frames for the render tags (``common.render_options.TAG_RULES``); the comment is a COMM frame.
_ID3_TEXT_FRAMES = {"title": b"TIT2", "artist": b"TPE1", "album": b"TALB"}
_ID3_UTF8 = b"\x03"


def id3v2_tag(tags: dict[str, str]) -> bytes:
    """An ID3v2.4 tag holding ``tags`` as UTF-8 text frames, after the encoder's name (TSSE, as FFmpeg writes it:
    the tag is there even when the render has no tags)."""
    encoder = _ID3_UTF8 + LAME_VERSION
    frames = b"TSSE" + _syncsafe(len(encoder)) + b"\x00\x00" + encoder
    for name, value in tags.items():
        if name == "comment":
            frame_id, body = b"COMM", _ID3_UTF8 + b"XXX" + b"\x00" + value.encode()
        elif name in _ID3_TEXT_FRAMES:
            frame_id, body = _ID3_TEXT_FRAMES[name], _ID3_UTF8 + value.encode()
        else:
            raise ValueError(f"no ID3 frame for the tag {name!r}")
        frames += frame_id + _syncsafe(len(body)) + b"\x00\x00" + body
    return b"ID3\x04\x00\x00" + _syncsafe(len(frames)) + frames


def _syncsafe(value: int) -> bytes:
    return bytes((value >> shift) & 0x7F for shift in (21, 14, 7, 0))


def _crc16_table() -> np.ndarray:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return np.array(table, dtype=np.uint16)


_CRC16_TABLE = _crc16_table()


def _crc16_bytewise(data: bytes | np.ndarray, crc: int) -> int:
    for byte in bytes(data):
        crc = (crc >> 8) ^ int(_CRC16_TABLE[(crc ^ byte) & 0xFF])
    return crc


def _shift_tables(block: int) -> tuple[np.ndarray, np.ndarray]:
    """``shift(c)``, the register ``c`` after ``block`` zero bytes, as ``low[c & 0xFF] ^ high[c >> 8]`` (the CRC is
    linear over XOR); every start value is run through the zeros side by side."""
    registers = np.concatenate([np.arange(256), np.arange(256) << 8]).astype(np.uint16)
    for _ in range(block):
        registers = (registers >> 8) ^ _CRC16_TABLE[registers & 0xFF]
    return registers[:256], registers[256:]


_SHIFT_LOW, _SHIFT_HIGH = _shift_tables(_CRC_BLOCK_BYTES)


def crc16(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-16/ARC (polynomial 0x8005 reflected, as LAME's tag uses) of ``data``, continuing from ``crc``.

    Computed on blocks side by side with NumPy, then chained: a register continuing over a block is the block's own
    CRC XOR the register shifted through the block's length of zeros, and leading zeros leave a zero register at
    zero, so the data is zero-padded in front to whole blocks and the running register folded into its first bytes.
    """
    length = len(data)
    if length < _CRC_BLOCK_BYTES:
        return _crc16_bytewise(bytes(data), crc)
    blocks = -(-length // _CRC_BLOCK_BYTES)
    padded = np.zeros(blocks * _CRC_BLOCK_BYTES, dtype=np.uint8)
    start = len(padded) - length
    padded[start:] = np.frombuffer(data, dtype=np.uint8)
    padded[start] ^= crc & 0xFF
    padded[start + 1] ^= crc >> 8
    columns = padded.reshape(blocks, _CRC_BLOCK_BYTES).T.copy()
    registers = np.zeros(blocks, dtype=np.uint16)
    for column in columns:
        registers = (registers >> 8) ^ _CRC16_TABLE[(registers ^ column) & 0xFF]
    result = 0
    for register in registers.tolist():
        result = int(_SHIFT_LOW[result & 0xFF] ^ _SHIFT_HIGH[result >> 8]) ^ register
    return result
