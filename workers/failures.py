"""What a handler's exception means for its job: the error to record, and whether another attempt can help."""

from __future__ import annotations

import errno
import random
from dataclasses import dataclass

from common.errors import AppError, StoreError
from common.jobs.model import JobError
from common.media_store import MediaStoreError

INTERNAL_ERROR_MESSAGE = "the job failed because of an internal error; the worker log has the details"
#: A full disk (or a user's quota reached) where the worker writes: its scratch folder, or a local media store.
_NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
STORAGE_FULL_MESSAGE = "no space left to write the job's output; it is tried again later"


@dataclass(frozen=True, slots=True)
class Failure:
    error: JobError
    transient: bool
    #: True for an exception nobody raised on purpose: its traceback belongs in the log.
    unexpected: bool = False


def classify(exc: BaseException) -> Failure:
    if isinstance(exc, StoreError | MediaStoreError):
        return Failure(JobError(exc.code, exc.message), transient=exc.transient)
    if isinstance(exc, AppError):
        return Failure(JobError(exc.code, exc.message), transient=False)
    if isinstance(exc, OSError) and exc.errno in _NO_SPACE_ERRNOS:
        # The media store's own "full" (MediaStoreFull) has this code too: either way, freeing space helps.
        return Failure(JobError("storage_full", STORAGE_FULL_MESSAGE), transient=True)
    if isinstance(exc, OSError):
        # strerror, not str(exc): the latter names server paths.
        return Failure(JobError("io_error", exc.strerror or "input/output error"), transient=True)
    return Failure(JobError("internal_error", INTERNAL_ERROR_MESSAGE), transient=False, unexpected=True)


def retry_delay_s(attempt: int, base_s: float, max_s: float) -> float:
    """Exponential back-off with jitter: about ``base_s * 2**(attempt - 1)``, between half and all of it."""
    ceiling = min(max_s, base_s * 2 ** max(attempt - 1, 0))
    return ceiling * random.uniform(0.5, 1.0)
