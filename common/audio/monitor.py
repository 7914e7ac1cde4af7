"""Hearing what an encoder wrote: its packets decoded back as a player decodes the file, handed on in chunks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import av
import numpy as np

from common.audio.chunks import ChunkConsumer

MONITOR_CHUNK_FRAMES = 1 << 15


class DecodingMonitor:
    """Decodes packets with the ``decoder`` codec and feeds the samples to ``consumer`` in chunks of about
    ``MONITOR_CHUNK_FRAMES`` (a codec frame at a time would cost a thread hand-off each). ``extradata`` is read at
    the first packet: only an opened encoder has its header ready."""

    def __init__(
        self,
        decoder: str,
        channels: int,
        consumer: ChunkConsumer[Any],
        extradata: Callable[[], bytes | None] = lambda: None,
    ) -> None:
        self._decoder_name = decoder
        self._channels = channels
        self._extradata = extradata
        self._decoder: av.AudioCodecContext | None = None
        self._consumer = consumer
        self._pending: list[np.ndarray] = []
        self._pending_frames = 0

    def consume_decoded(self, packet: av.Packet | None) -> None:
        """Decode ``packet``; ``None`` flushes the decoder and hands on what is left."""
        if self._decoder is None:
            decoder = av.CodecContext.create(self._decoder_name, "r")
            if not isinstance(decoder, av.AudioCodecContext):
                raise TypeError(f"{self._decoder_name} is not an audio decoder")
            extradata = self._extradata()
            if extradata is not None:
                decoder.extradata = extradata
            self._decoder = decoder
        for frame in self._decoder.decode(packet):
            samples = frame.to_ndarray()
            self._pending.append(samples.T if frame.format.is_planar else samples.reshape(-1, self._channels))
            self._pending_frames += frame.samples
        if self._pending and (packet is None or self._pending_frames >= MONITOR_CHUNK_FRAMES):
            self._consumer.consume(np.concatenate(self._pending).astype(np.float32, copy=False))
            self._pending = []
            self._pending_frames = 0
