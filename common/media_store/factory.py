"""The one way to reach the media store: ``store = await get_media_store()``.

Selection mirrors the job store's: ``MEDIA_BACKEND`` (``local`` or ``s3``) wins; otherwise ``DEPLOY_ENV`` of
``production``, ``staging`` or ``preview`` means s3 and anything else local. s3 without ``S3_BUCKET`` or its
credentials is an error naming the variable, never a silent fall-back to local files: that is how a web and a
worker end up on different media. Opening an s3 store probes the bucket, so a missing bucket or refused
credentials stop the process at start-up.
"""

from __future__ import annotations

import logging
import os

from common.config import media_max_bytes, media_root
from common.errors import ConfigurationError
from common.jobs import get_job_store
from common.media_store.store import MediaStore
from common.media_store.usage import MediaUsage
from common.process_store import ProcessStore, backend_from_env

logger = logging.getLogger(__name__)

BACKENDS = ("local", "s3")


def selected_backend() -> str:
    """The backend the environment asks for; raises ``ConfigurationError`` for an unknown name."""
    return backend_from_env("MEDIA_BACKEND", BACKENDS, "s3", "media store")


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"the s3 media store needs {name}; set it, or set MEDIA_BACKEND=local")
    return value


async def open_configured_media_store() -> MediaStore:
    """A new store as the environment describes it, keeping its account of bytes in the job store
    (``common.media_store.usage``) and holding ``MEDIA_MAX_BYTES``. Callers want ``get_media_store()`` instead."""
    limit_bytes = media_max_bytes()
    store = await _open_backend()
    store.account_with(MediaUsage(get_job_store, limit_bytes))
    return store


async def _open_backend() -> MediaStore:
    if selected_backend() == "s3":
        from common.media_store.s3 import DEFAULT_REGION, S3MediaStore, S3Settings

        bucket = _required("S3_BUCKET")
        endpoint_url = os.environ.get("S3_ENDPOINT_URL", "").strip() or None
        region = os.environ.get("S3_REGION", "").strip() if endpoint_url else _required("S3_REGION")
        settings = S3Settings(
            bucket=bucket,
            endpoint_url=endpoint_url,
            region=region or DEFAULT_REGION,
            access_key_id=_required("AWS_ACCESS_KEY_ID"),
            secret_access_key=_required("AWS_SECRET_ACCESS_KEY"),
        )
        return await S3MediaStore.open(settings)
    from common.media_store.local import LocalMediaStore

    return await LocalMediaStore.open(media_root())


_process_store: ProcessStore[MediaStore] = ProcessStore("media store", lambda: open_configured_media_store(), logger)


async def get_media_store() -> MediaStore:
    """This process's store, opened on first use (``common.process_store.ProcessStore``: one store however many
    callers ask at once, never one that was closed)."""
    return await _process_store.get()


async def close_media_store() -> None:
    """Close this process's store (if one was opened); the next ``get_media_store()`` opens a fresh one."""
    await _process_store.close()
