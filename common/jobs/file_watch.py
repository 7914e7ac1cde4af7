"""``FileWatch``: a kernel notification (Linux inotify) that a file was written, as a file descriptor an event loop
can wait on.

The local job store watches its WAL file with it: every commit, by any process on this host, appends to that file, so
a reader waiting for a change sleeps in ``epoll`` until one may have happened instead of waking to ask. It is only a
hint (the kernel merges events and a write need not be a commit); ``PRAGMA data_version`` stays the answer. Where
inotify is missing (not Linux, or no watches left) ``FileWatch.open`` returns ``None`` and callers poll.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

IN_MODIFY = 0x00000002
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
#: Enough for a few hundred queued events; the kernel merges repeats of the last unread one, so one read drains it.
READ_BYTES = 4096


def _libc() -> ctypes.CDLL | None:
    # The process's own symbols, libc's among them: ``ctypes.util.find_library`` would start a subprocess to look.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    return libc if hasattr(libc, "inotify_init1") and hasattr(libc, "inotify_add_watch") else None


class FileWatch:
    def __init__(self, fd: int, path: Path) -> None:
        self._fd = fd
        self.path = path

    @classmethod
    def open(cls, path: Path) -> FileWatch | None:
        """Watch ``path`` for writes; ``None`` when this system cannot (the caller then polls)."""
        libc = _libc()
        if libc is None:
            return None
        fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            logger.info("no inotify for %s, polling instead: %s", path, os.strerror(ctypes.get_errno()))
            return None
        if libc.inotify_add_watch(fd, os.fsencode(path), IN_MODIFY) < 0:
            logger.info("cannot watch %s, polling instead: %s", path, os.strerror(ctypes.get_errno()))
            os.close(fd)
            return None
        return cls(fd, path)

    def fileno(self) -> int:
        return self._fd

    def drain(self) -> None:
        """Consume the pending notifications, so the descriptor reads as ready again only after the next write."""
        with contextlib.suppress(BlockingIOError):
            while os.read(self._fd, READ_BYTES):
                pass

    def close(self) -> None:
        os.close(self._fd)
