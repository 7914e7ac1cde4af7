"""``S3MediaStore``: objects in a bucket of any S3-compatible service (AWS S3, R2, B2, MinIO, SeaweedFS), through
``obstore`` (Rust ``object_store``: streaming multipart uploads, ranged gets, presigned URLs, retries).

A stream is uploaded in parts of ``PART_BYTES`` with at most ``PUT_CONCURRENCY`` parts in flight, so memory stays
near ``(PUT_CONCURRENCY + 1) * PART_BYTES`` whatever the size; the object appears only when the upload completes.
A failed upload is aborted; one cut off by cancellation leaves an incomplete multipart upload, invisible to every
read, which the bucket's lifecycle rule for incomplete uploads removes.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import obstore
from obstore.exceptions import AlreadyExistsError, PermissionDeniedError, UnauthenticatedError
from obstore.store import S3Store

from common.errors import ConfigurationError
from common.media_store.errors import InvalidMediaRange, MediaNotFound, MediaStoreError, MediaStoreFull
from common.media_store.store import MARKER_KEY, MediaStore, MediaStream, ObjectInfo

if TYPE_CHECKING:
    from obstore import GetOptions, ObjectMeta

PART_BYTES = 8 * 1024 * 1024
PUT_CONCURRENCY = 2
READ_CHUNK_BYTES = 1024 * 1024
DELETE_BATCH = 1000
LIST_PAGE = 1000
#: Without an endpoint the store is AWS, where the bucket's region is part of every signature; other services take
#: any region name, and this is the one they document.
DEFAULT_REGION = "us-east-1"
RETRY_TIMEOUT_S = 20
MAX_RETRIES = 3
#: The client's default bounds a whole request, body included, to 30 s: a 2 GiB get, or a read consumed as slowly as
#: a listener plays it, would be cut off and retried until the retries run out. A stalled connection is caught by
#: ``READ_STALL_TIMEOUT_S`` instead, which restarts with every byte received.
REQUEST_TIMEOUT_S = 24 * 3600
READ_STALL_TIMEOUT_S = 60
_CREDENTIAL_CODES = ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "403 Forbidden")
#: How a service says it has no room: HTTP 507 (MinIO's ``XMinioStorageFull``). Others (SeaweedFS) answer a full
#: disk with a plain 500 ``InternalError``, which cannot be told from any other failure and stays transient.
_FULL_MARKERS = ("XMinioStorageFull", "507 Insufficient Storage")


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint_url: str | None
    region: str
    access_key_id: str
    secret_access_key: str = field(repr=False)


def _summary(exc: BaseException) -> str:
    """The first line of an ``obstore`` error (the rest is a debug dump), kept short."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


def _is_credentials_error(exc: BaseException) -> bool:
    return isinstance(exc, PermissionDeniedError | UnauthenticatedError) or any(
        code in str(exc) for code in _CREDENTIAL_CODES
    )


def _info(meta: ObjectMeta) -> ObjectInfo:
    return ObjectInfo(key=meta["path"], size_bytes=meta["size"], etag=meta["e_tag"], modified_at=meta["last_modified"])


class S3MediaStore(MediaStore):
    backend = "s3"

    def __init__(self, settings: S3Settings) -> None:
        super().__init__()
        self._settings = settings
        config: dict[str, Any] = {
            "access_key_id": settings.access_key_id,
            "secret_access_key": settings.secret_access_key,
            "region": settings.region,
        }
        if settings.endpoint_url:
            config["endpoint"] = settings.endpoint_url
        self._store = S3Store(
            settings.bucket,
            client_options={
                "allow_http": bool(settings.endpoint_url and settings.endpoint_url.startswith("http:")),
                "timeout": timedelta(seconds=REQUEST_TIMEOUT_S),
                "read_timeout": timedelta(seconds=READ_STALL_TIMEOUT_S),
            },
            retry_config={"max_retries": MAX_RETRIES, "retry_timeout": timedelta(seconds=RETRY_TIMEOUT_S)},
            **config,
        )

    @classmethod
    async def open(cls, settings: S3Settings) -> S3MediaStore:
        """The store in ``settings.bucket``, after checking that the bucket exists and takes these credentials."""
        store = cls(settings)
        await store._probe()
        await store._load_identity()
        return store

    @property
    def location(self) -> str:
        where = self._settings.endpoint_url or f"AWS {self._settings.region}"
        return f"s3://{self._settings.bucket} at {where}"

    @property
    def configured_by(self) -> str:
        endpoint = self._settings.endpoint_url or "(AWS)"
        return f"MEDIA_BACKEND=s3, S3_BUCKET={self._settings.bucket}, S3_ENDPOINT_URL={endpoint}"

    async def _probe(self) -> None:
        """One list request: it fails for a missing bucket and for refused credentials, which a read of a missing
        object cannot tell apart."""
        try:
            await obstore.list(self._store, prefix="probe", chunk_size=1).collect_async()
        except Exception as exc:
            bucket = self._settings.bucket
            if "NoSuchBucket" in str(exc):
                raise ConfigurationError(
                    f"S3_BUCKET {bucket!r} does not exist at {self.location}; create it or name an existing bucket"
                ) from exc
            if _is_credentials_error(exc):
                raise ConfigurationError(
                    f"the S3 service at {self.location} refused the credentials for bucket {bucket!r}: check "
                    f"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ({_summary(exc)})"
                ) from exc
            raise ConfigurationError(
                f"the media store {self.location} cannot be used; check S3_ENDPOINT_URL and S3_REGION ({_summary(exc)})"
            ) from exc

    def _error(self, exc: Exception, key: str) -> Exception:
        if isinstance(exc, FileNotFoundError):
            return MediaNotFound(key)
        if "416" in str(exc) or "InvalidRange" in str(exc):
            return InvalidMediaRange(f"the range asked of {key!r} starts past its end")
        if _is_credentials_error(exc):
            return MediaStoreError(
                f"the media store {self.location} refused access to {key!r}: {_summary(exc)}",
                code="media_store_unauthorized",
            )
        if any(marker in str(exc) for marker in _FULL_MARKERS):
            return MediaStoreFull("the bucket holding the media store is full")
        # obstore has already retried what it could; the caller may try again later.
        return MediaStoreError(
            f"the media store {self.location} failed on {key!r}: {_summary(exc)}",
            code="media_store_unavailable",
            transient=True,
        )

    # -- writing --------------------------------------------------------------------------------------------

    def _attributes(self, content_type: str | None) -> dict[str, str] | None:
        return {"Content-Type": content_type} if content_type else None

    async def _put_stream(self, key: str, chunks: AsyncIterable[bytes], content_type: str | None) -> ObjectInfo:
        return await self._put(key, chunks, content_type)

    async def _put_file(self, key: str, path: Path, content_type: str | None, consume: bool) -> ObjectInfo:
        info = await self._put(key, path, content_type)
        if consume:
            await asyncio.to_thread(path.unlink)
        return info

    async def _put(self, key: str, body: AsyncIterable[bytes] | Path, content_type: str | None) -> ObjectInfo:
        """One multipart upload of ``body`` (a stream or a file), completed only when all of it arrived."""
        try:
            await obstore.put_async(
                self._store,
                key,
                body,
                attributes=self._attributes(content_type),  # type: ignore[arg-type]
                chunk_size=PART_BYTES,
                max_concurrency=PUT_CONCURRENCY,
            )
        except obstore.exceptions.BaseError as exc:
            raise self._error(exc, key) from exc
        return await self._head(key)

    # -- reading --------------------------------------------------------------------------------------------

    async def _head(self, key: str) -> ObjectInfo:
        try:
            return _info(await obstore.head_async(self._store, key))
        except (obstore.exceptions.BaseError, FileNotFoundError) as exc:
            raise self._error(exc, key) from exc

    async def _get_file(self, key: str, path: Path) -> ObjectInfo:
        stream = await self._get_stream(key, 0, None)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.part")
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        file: BinaryIO = await asyncio.to_thread(temporary.open, "xb")
        try:
            async for chunk in stream.chunks:
                await asyncio.to_thread(file.write, chunk)
            await asyncio.to_thread(file.close)
            await asyncio.to_thread(temporary.replace, path)
        except BaseException:
            file.close()
            temporary.unlink(missing_ok=True)
            raise
        return stream.info

    async def _get_stream(self, key: str, start: int, end: int | None) -> MediaStream:
        options: GetOptions = {}
        if end is not None:
            options["range"] = (start, end)
        elif start > 0:
            options["range"] = {"offset": start}
        try:
            result = await obstore.get_async(self._store, key, options=options)
        except (obstore.exceptions.BaseError, FileNotFoundError) as exc:
            raise self._error(exc, key) from exc
        first, last = result.range
        return MediaStream(
            info=_info(result.meta),
            start=first,
            end=last,
            chunks=self._chunks(result.stream(min_chunk_size=READ_CHUNK_BYTES), key),
        )

    async def _chunks(self, stream: AsyncIterator[bytes], key: str) -> AsyncIterator[bytes]:
        try:
            async for chunk in stream:
                yield bytes(chunk)
        except obstore.exceptions.BaseError as exc:
            raise self._error(exc, key) from exc

    async def _presigned_get_url(self, key: str, expires_s: float) -> str | None:
        return await obstore.sign_async(self._store, "GET", key, timedelta(seconds=expires_s))

    async def _list_objects(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        try:
            async for page in obstore.list(self._store, prefix=prefix or None, chunk_size=LIST_PAGE):
                for meta in page:
                    if meta["path"] != MARKER_KEY:
                        yield _info(meta)
        except obstore.exceptions.BaseError as exc:
            raise self._error(exc, prefix) from exc

    # -- removing -------------------------------------------------------------------------------------------

    async def _delete(self, key: str) -> None:
        try:
            await obstore.delete_async(self._store, key)
        except FileNotFoundError:
            return
        except obstore.exceptions.BaseError as exc:
            raise self._error(exc, key) from exc

    async def _delete_prefix(self, prefix: str) -> int:
        keys = [info.key async for info in self._list_objects(prefix)]
        for first in range(0, len(keys), DELETE_BATCH):
            try:
                await obstore.delete_async(self._store, keys[first : first + DELETE_BATCH])
            except obstore.exceptions.BaseError as exc:
                raise self._error(exc, prefix) from exc
        return len(keys)

    # -- identity and lifecycle -----------------------------------------------------------------------------

    async def _read_marker(self) -> str | None:
        try:
            result = await obstore.get_async(self._store, MARKER_KEY)
            return bytes(await result.bytes_async()).decode("utf-8").strip() or None
        except FileNotFoundError:
            return None
        except obstore.exceptions.BaseError as exc:
            raise self._error(exc, MARKER_KEY) from exc

    async def _create_marker(self, store_id: str) -> None:
        try:
            await obstore.put_async(self._store, MARKER_KEY, (store_id + "\n").encode(), mode="create")
        except AlreadyExistsError:
            return
        except obstore.exceptions.BaseError as exc:
            raise self._error(exc, MARKER_KEY) from exc

    async def close(self) -> None:
        return None
