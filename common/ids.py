"""Unguessable identifiers for jobs, assets and uploads."""

from __future__ import annotations

import re
import secrets

_ID_PATTERN = re.compile(r"[0-9a-f]{32}")


def new_id() -> str:
    """128 random bits as 32 lowercase hex characters."""
    return secrets.token_hex(16)


def is_valid_id(value: str) -> bool:
    """True for a string shaped like ``new_id()``'s output; anything else can be answered 404 without a lookup."""
    return _ID_PATTERN.fullmatch(value) is not None
