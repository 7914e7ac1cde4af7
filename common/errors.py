"""The one root of the project's exceptions: every error carries a stable code and a human message."""

from __future__ import annotations


class AppError(Exception):
    """An error with a stable machine-readable ``code`` and a ``message`` a person can act on."""

    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class ConfigurationError(AppError):
    """The environment asks for something impossible (unknown backend, missing URL, ...)."""

    code = "configuration_error"


class StoreError(AppError):
    """The job store could not do what was asked. ``transient`` errors are worth retrying."""

    code = "store_error"

    def __init__(self, message: str, *, code: str | None = None, transient: bool = False) -> None:
        super().__init__(message, code=code)
        self.transient = transient


class MediaError(AppError):
    """The media cannot be used (not audio, corrupt, too long, ...). Permanent: retrying cannot help."""

    code = "unsupported_media"


class EditListError(AppError):
    """An edit list item is invalid; ``field`` names it the way a client wrote it, e.g. ``edits[2].end``."""

    code = "invalid_edits"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class JobCancelled(AppError):
    """Raised inside a handler when its job was cancelled or its lease was lost; the work must stop."""

    code = "cancelled"


class IdempotencyKeyReused(AppError):
    """An idempotency key already used for a job was sent again with a different request."""

    code = "idempotency_key_reused"


class AssetDeleted(StoreError):
    """The asset was deleted: nothing may be recorded for it any more."""

    code = "asset_deleted"


class LastAssetVersion(StoreError):
    """An asset's only remaining version cannot be deleted on its own: delete the asset instead."""

    code = "last_version"
