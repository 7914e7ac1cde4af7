"""What the media store raises: every error is an ``AppError`` with a stable code and a message naming the key."""

from __future__ import annotations

from common.errors import AppError


class MediaStoreError(AppError):
    """The media store could not do what was asked. ``transient`` errors (the server unreachable, busy) are worth
    retrying; the others are not."""

    code = "media_store_error"

    def __init__(self, message: str, *, code: str | None = None, transient: bool = False) -> None:
        super().__init__(message, code=code)
        self.transient = transient


class MediaNotFound(MediaStoreError):
    """No object under that key."""

    code = "media_missing"

    def __init__(self, key: str) -> None:
        super().__init__(f"no media object {key!r} in the media store")
        self.key = key


class InvalidMediaKey(MediaStoreError):
    """A key or prefix that ``common.media_store.keys`` refuses (it could escape the store or alias another key)."""

    code = "invalid_media_key"


class InvalidMediaRange(MediaStoreError):
    """A byte range that starts at or past the object's end, or is empty."""

    code = "range_not_satisfiable"


class MediaStoreFull(MediaStoreError):
    """No room for the write: the disk or bucket is full, or ``MEDIA_MAX_BYTES`` is reached. Nothing of the write
    was kept; it may succeed once space is freed, so it is transient."""

    code = "storage_full"

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)
