"""Fixtures for the media store suites (``media_env`` and ``seaweedfs`` come from the root conftest).

- ``media_store``: this process's store for ``media_env``, reached through ``get_media_store()``.
- ``media_root``: the test's ``MEDIA_ROOT``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from common.media_store import MediaStore, get_media_store


@pytest.fixture
async def media_store(media_env: str) -> MediaStore:
    return await get_media_store()


@pytest.fixture
def media_root(tmp_path: Path) -> Path:
    """The ``MEDIA_ROOT`` the root conftest gave this test."""
    return tmp_path / "media"
