"""Media (uploads, masters, peaks, previews, renders) as objects under plain keys: the ``MediaStore`` interface, a
backend per module (``local``: files under ``MEDIA_ROOT``; ``s3``: a bucket), and the one way to reach a store.

Everything outside this package gets its store from ``await get_media_store()``; nothing else constructs one.
"""

from common.media_store.errors import (
    InvalidMediaKey,
    InvalidMediaRange,
    MediaNotFound,
    MediaStoreError,
    MediaStoreFull,
)
from common.media_store.factory import close_media_store, get_media_store
from common.media_store.identity import check_media_identity
from common.media_store.keys import validate_key
from common.media_store.store import MediaStore, MediaStream, ObjectInfo

__all__ = [
    "InvalidMediaKey",
    "InvalidMediaRange",
    "MediaNotFound",
    "MediaStore",
    "MediaStoreError",
    "MediaStoreFull",
    "MediaStream",
    "ObjectInfo",
    "check_media_identity",
    "close_media_store",
    "get_media_store",
    "validate_key",
]
