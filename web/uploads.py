"""Streaming a multipart upload straight into the media store, refusing it the moment it grows past
``MAX_UPLOAD_BYTES``.

The request body is parsed as it arrives; the ``file`` part's bytes go to ``put_stream`` under
``common.media.upload_key(upload_id)`` (a generated name: the client's filename is kept only as metadata) as they
arrive, so memory holds only what the store buffers (local: 1 MiB; s3: its parts in flight). A body declared larger
than the limit is refused before a byte of it is read, and one that turns out larger is refused as soon as it
crosses the limit; the rest is never read, and as the store's writes are atomic, a refused, malformed or abandoned
upload leaves no object.

When the media store has no room the answer is 507 ``insufficient_storage``: before a byte is read when the
declared ``Content-Length`` does not fit in what ``MEDIA_MAX_BYTES`` leaves (the store reserves it at once), as
soon as the bytes received do not fit otherwise, and when the disk (or a bucket that says so) fills up mid-way.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from common.media import upload_key
from common.media_store import MediaStoreFull, get_media_store
from web.errors import ApiError
from web.inputs import declared_length, media_type, positive_int_setting

DEFAULT_MAX_UPLOAD_BYTES = 2 * 1024**3
FILE_FIELD = "file"
TEXT_FIELDS = ("title",)
MAX_TEXT_FIELD_BYTES = 4096
MAX_FILENAME_CHARS = 255
MAX_PART_HEADER_BYTES = 8192
# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def max_upload_bytes() -> int:
    return positive_int_setting("MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)


@dataclass
class Upload:
    """An upload saved in the media store: its key, how big, and what the client said about it."""

    upload_id: str
    key: str
    size_bytes: int
    sha256: str
    filename: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    text: bytearray = field(default_factory=bytearray)


class _UploadParser:
    """Feeds body chunks to python-multipart and collects what its callbacks report.

    The callbacks are synchronous, so file data is queued and handed to the store after each chunk.
    """

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.part = _Part()
        self.header_name = b""
        self.header_value = b""
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_bytes = 0
        self.file_seen = False
        self.pending_file_data: list[bytes] = []
        self.ended = False

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]
        self._check_header_size()

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]
        self._check_header_size()

    def _check_header_size(self) -> None:
        if len(self.header_name) + len(self.header_value) > MAX_PART_HEADER_BYTES:
            raise ApiError(400, "invalid_multipart", f"a form part header is over {MAX_PART_HEADER_BYTES} bytes")

    def on_header_end(self) -> None:
        self.part.headers[self.header_name.lower()] = self.header_value
        self.header_name = b""
        self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.part.headers.get(b"content-disposition"))
        if b"name" not in options:
            raise ApiError(400, "invalid_multipart", "every form part needs a Content-Disposition name")
        self.part.name = options[b"name"].decode("utf-8", "replace")
        if self.part.name == FILE_FIELD:
            if self.file_seen:
                raise ApiError(400, "invalid_multipart", "send exactly one 'file' part")
            self.file_seen = True
            raw_filename = options.get(b"filename", b"")
            self.filename = _display_filename(raw_filename.decode("utf-8", "replace"))
        elif self.part.name not in TEXT_FIELDS:
            accepted = ", ".join((FILE_FIELD, *TEXT_FIELDS))
            raise ApiError(
                400,
                "unknown_field",
                f"unknown form field {self.part.name[:64]!r}; accepted: {accepted}",
                field=self.part.name[:64],
            )
        elif self.part.name in self.fields:
            raise ApiError(400, "invalid_multipart", f"form field {self.part.name!r} is given more than once")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part.name == FILE_FIELD:
            self.file_bytes += end - start
            if self.file_bytes > self.limit_bytes:
                raise ApiError(
                    413, "upload_too_large", f"the file is larger than the limit of {self.limit_bytes} bytes"
                )
            self.pending_file_data.append(data[start:end])
            return
        self.part.text.extend(data[start:end])
        if len(self.part.text) > MAX_TEXT_FIELD_BYTES:
            raise ApiError(
                413, "field_too_large", f"form field {self.part.name!r} is over {MAX_TEXT_FIELD_BYTES} bytes"
            )

    def on_part_end(self) -> None:
        if self.part.name in TEXT_FIELDS:
            self.fields[self.part.name] = self.part.text.decode("utf-8", "replace")

    def on_end(self) -> None:
        self.ended = True

    def take_file_data(self) -> bytes:
        data = b"".join(self.pending_file_data)
        self.pending_file_data.clear()
        return data


def _display_filename(raw: str) -> str:
    """The last path segment of what the client sent, for display only; it never names a file here."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char.isprintable())
    return name[:MAX_FILENAME_CHARS]


def _boundary(request: Request) -> bytes:
    if media_type(request) != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "upload the file as multipart/form-data with a 'file' field")
    _, params = parse_options_header(request.headers["content-type"])
    boundary = params.get(b"boundary")
    if not boundary:
        raise ApiError(400, "invalid_multipart", "the multipart Content-Type has no boundary")
    return boundary


async def receive_upload(request: Request, upload_id: str) -> Upload:
    """Stream the request's multipart body to ``upload_key(upload_id)``. The object exists only if this returns."""
    boundary = _boundary(request)
    limit = max_upload_bytes()
    length = declared_length(request)
    if length is not None and length > limit + MULTIPART_OVERHEAD_BYTES:
        raise ApiError(413, "upload_too_large", f"the upload is larger than the limit of {limit} bytes")
    parser_state = _UploadParser(limit)
    callbacks = {
        name: getattr(parser_state, name)
        for name in (
            "on_part_begin",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_part_data",
            "on_part_end",
            "on_end",
        )
    }
    with _full_is_507():
        return await _stream_to_store(request, upload_id, parser_state, callbacks, boundary, length)


@contextmanager
def _full_is_507() -> Iterator[None]:
    try:
        yield
    except MediaStoreFull as exc:
        raise ApiError(
            507, "insufficient_storage", "the server has no room to store this upload now; try again later"
        ) from exc


async def _stream_to_store(
    request: Request,
    upload_id: str,
    parser_state: _UploadParser,
    callbacks: dict[str, Any],
    boundary: bytes,
    declared_bytes: int | None,
) -> Upload:
    key = upload_key(upload_id)
    digest = hashlib.sha256()

    async def file_data() -> AsyncIterator[bytes]:
        # Raising here (a refused or malformed body) makes put_stream store nothing.
        try:
            parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
            async for chunk in request.stream():
                parser.write(chunk)
                data = parser_state.take_file_data()
                if data:
                    # hashlib releases the GIL on large buffers: the loop stays free while it digests.
                    await anyio.to_thread.run_sync(digest.update, data)
                    yield data
            parser.finalize()
        except FormParserError as exc:
            raise ApiError(400, "invalid_multipart", f"the multipart body is malformed: {exc}") from exc
        except ClientDisconnect as exc:
            raise ApiError(400, "incomplete_upload", "the client went away before the upload finished") from exc
        _check_complete(parser_state)

    # The file is at most the declared body: reserving that much refuses an upload that cannot fit before any of
    # it is read.
    await (await get_media_store()).put_stream(key, file_data(), expected_bytes=declared_bytes)
    return Upload(
        upload_id=upload_id,
        key=key,
        size_bytes=parser_state.file_bytes,
        sha256=digest.hexdigest(),
        filename=parser_state.filename or "",
        fields=parser_state.fields,
    )


def _check_complete(state: _UploadParser) -> None:
    if not state.ended:
        raise ApiError(400, "invalid_multipart", "the multipart body ends before its closing boundary")
    if not state.file_seen:
        raise ApiError(400, "missing_file", "the upload has no 'file' field")
    if state.file_bytes == 0:
        raise ApiError(400, "empty_file", "the uploaded file is empty")
