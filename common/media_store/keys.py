"""The one rule for media keys: plain relative strings that name the same object on every backend.

A key is segments joined by ``/``. No segment is empty or starts with ``.`` (that rules out ``..``, ``.``, the
store's own marker and a local backend's temporary files); no backslash, NUL or other control character; no
leading or trailing ``/``. So a key can never climb out of ``MEDIA_ROOT`` or a bucket prefix, and two spellings
never name one object.
"""

from __future__ import annotations

import re

from common.media_store.errors import InvalidMediaKey

MAX_KEY_BYTES = 1024
# Checked on every key a worker lists or deletes after each job: one regular expression search, not a loop per
# character.
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def validate_key(key: str) -> str:
    """``key`` itself when it is a valid media key; otherwise ``InvalidMediaKey`` saying why."""
    if not isinstance(key, str) or not key:
        raise InvalidMediaKey("a media key must be a non-empty string")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidMediaKey(f"a media key is at most {MAX_KEY_BYTES} bytes")
    if "\\" in key:
        raise InvalidMediaKey(f"media key {key!r} contains a backslash")
    if _CONTROL.search(key):
        raise InvalidMediaKey(f"media key {key!r} contains a control character")
    if _SURROGATE.search(key):
        raise InvalidMediaKey(f"media key {key!r} contains a lone surrogate")
    if key.startswith("/"):
        raise InvalidMediaKey(f"media key {key!r} is absolute; keys are relative")
    for segment in key.split("/"):
        if not segment:
            raise InvalidMediaKey(f"media key {key!r} has an empty segment")
        if segment.startswith("."):
            raise InvalidMediaKey(f"media key {key!r} has a segment starting with '.'")
    return key


def validate_prefix(prefix: str) -> str:
    """A prefix names a folder: it follows the key rule, and matches the keys strictly below it. ``""`` is the
    whole store (only where the caller allows it)."""
    return prefix if prefix == "" else validate_key(prefix)


def is_under(key: str, prefix: str) -> bool:
    return prefix == "" or key.startswith(prefix + "/")
