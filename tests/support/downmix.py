"""Multichannel test sources and the reference stereo downmix they are checked against.

The reference is the ``ffmpeg`` command line's own ``-ac 2`` (Debian's ``ffmpeg``, installed by
``scripts/bootstrap --with-bench-packages``) writing 16-bit WAV; where that program is missing, PyAV's swresample
converting to 16-bit stereo, which is the same library and default matrix the command line uses.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av
import numpy as np

from tests.support.audio_samples import read_audio, speech_like

#: Channels of the layouts the tests use, in FFmpeg's order.
LAYOUT_CHANNELS = {"5.1": 6, "4.0": 4, "quad": 4, "5.1(side)": 6}


def loud_multichannel(seconds: float, layout: str, *, rate: int = 48000) -> np.ndarray:
    """Different material in every channel, each peaking near full scale: speech in front, a tone in the centre,
    rumble in the LFE, noise bursts in the surrounds. Summed without normalising, the fronts would clip."""
    channels = LAYOUT_CHANNELS[layout]
    frames = round(seconds * rate)
    speech = np.concatenate(list(speech_like(seconds, rate=rate, channels=2, peak_db=-1.0)))
    t = np.arange(frames) / rate
    rng = np.random.default_rng(11)
    signal = np.zeros((frames, channels), dtype=np.float32)
    signal[:, 0] = speech[:, 0]
    signal[:, 1] = np.roll(speech[:, 1], rate // 3)
    for index in range(2, channels):
        if layout.startswith("5.1") and index == 3:
            signal[:, index] = 0.9 * np.sin(2 * np.pi * 45.0 * t)
        elif index == 2 and layout != "quad":
            signal[:, index] = 0.8 * np.sin(2 * np.pi * 330.0 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
        else:
            envelope = (np.sin(2 * np.pi * (0.3 + 0.1 * index) * t) > 0).astype(np.float32)
            signal[:, index] = 0.7 * envelope * np.clip(rng.normal(0.0, 0.3, frames), -1.0, 1.0)
    return signal


def reference_stereo(source: Path, out: Path) -> tuple[np.ndarray, int, str]:
    """FFmpeg's default stereo downmix of ``source`` as 16-bit WAV samples, and which FFmpeg made it."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is not None:
        subprocess.run(
            [ffmpeg, "-v", "error", "-y", "-i", str(source), "-ac", "2", "-c:a", "pcm_s16le", str(out)], check=True
        )
        samples, rate = read_audio(out)
        return samples, rate, "ffmpeg CLI"
    chunks = []
    with av.open(str(source)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="stereo", rate=stream.codec_context.sample_rate)
        for frame in container.decode(stream):
            chunks.extend(c.to_ndarray().reshape(-1, 2) for c in resampler.resample(frame))
        chunks.extend(c.to_ndarray().reshape(-1, 2) for c in resampler.resample(None))
        rate = stream.codec_context.sample_rate
    return np.concatenate(chunks).astype(np.float32) / 32768.0, rate, "PyAV swresample"
