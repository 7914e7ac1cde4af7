"""Keeping the audio buffers from fragmenting the heap, so a long job's memory stays flat.

Every chunk of audio is a fresh NumPy array of a few hundred kilobytes, allocated on one thread and often freed on
another. glibc serves such blocks with ``mmap`` until the first one is freed, then raises its threshold and serves
them from the heap, where they fragment, and the same ingest ended with a different, often much larger RSS.
Fixing the threshold (which also turns off its adjustment) keeps every large buffer in its own mapping.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024


def pin_mmap_threshold() -> None:
    """Fix glibc's mmap threshold; a no-op where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    if mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) != 1:
        logger.warning("could not set the malloc mmap threshold; long jobs may use more memory")
