"""Keeping the audio buffers from fragmenting the heap, so a long job's memory stays flat.

Every chunk of audio is a fresh NumPy array of a few hundred kilobytes, allocated on one thread and often freed on
another. glibc serves such blocks with ``mmap`` until the first one is freed, then raises its threshold and serves
them from the heap, where they fragment, and the same ingest ended with a different, often much larger RSS.
Fixing the threshold (which also turns off its adjustment) keeps every large buffer in its own mapping.

The smaller temporaries of the NumPy work (spectra, masks, gains) come and go at the top of the heaps, which glibc
then gives back to the system and takes again, a page fault per page, chunk after chunk: a third of an enhancement
job's CPU time went to the kernel. A top pad of ``TOP_PAD_BYTES`` keeps that much at the top of each heap, a
bounded amount whatever the duration.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024
TOP_PAD_BYTES = 4 * 1024 * 1024


def pin_mmap_threshold() -> None:
    """Fix glibc's mmap threshold and top pad; a no-op where the C library is not glibc."""
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
    if mallopt(_M_TOP_PAD, TOP_PAD_BYTES) != 1:
        logger.warning("could not set the malloc top pad; audio jobs will spend more time in the kernel")
