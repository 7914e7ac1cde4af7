from __future__ import annotations

import errno

import pytest

from common.errors import AppError, EditListError, JobCancelled, MediaError, StoreError
from common.media_store import MediaStoreFull
from workers.failures import INTERNAL_ERROR_MESSAGE, classify, retry_delay_s


@pytest.mark.parametrize(
    ("exc", "code", "transient"),
    [
        (StoreError("dropped", transient=True), "store_error", True),
        (StoreError("bad sql"), "store_error", False),
        (OSError(errno.ENOSPC, "No space left on device", "/srv/media/x"), "storage_full", True),
        (OSError(errno.EDQUOT, "Disk quota exceeded", "/srv/media/x"), "storage_full", True),
        (MediaStoreFull("the disk holding the media store is full"), "storage_full", True),
        (OSError(errno.EIO, "Input/output error", "/srv/media/x"), "io_error", True),
        (MediaError("not audio"), "unsupported_media", False),
        (EditListError("edits[2].end", "past the end"), "invalid_edits", False),
        (AppError("odd", code="something_else"), "something_else", False),
        (JobCancelled("stopped by itself"), "cancelled", False),
    ],
)
def test_known_errors_keep_their_code(exc: BaseException, code: str, transient: bool) -> None:
    failure = classify(exc)
    assert failure.error.code == code
    assert failure.transient is transient
    assert failure.unexpected is False
    assert "/srv/media" not in failure.error.message


def test_unexpected_errors_hide_their_details() -> None:
    failure = classify(KeyError("secret"))
    assert failure.error.code == "internal_error"
    assert failure.error.message == INTERNAL_ERROR_MESSAGE
    assert failure.unexpected is True
    assert failure.transient is False


def test_retry_delay_doubles_with_jitter_up_to_the_cap() -> None:
    for attempt in range(1, 8):
        ceiling = min(30.0, 2.0 * 2 ** (attempt - 1))
        delays = [retry_delay_s(attempt, 2.0, 30.0) for _ in range(200)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 1
