"""``get_media_store()``: the selection table, every missing variable, refused credentials and a missing bucket at
start-up, one store per process, and its one log line."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from common.errors import ConfigurationError
from common.media_store import get_media_store
from common.media_store.factory import selected_backend
from tests.support.s3_media import new_bucket, use_s3
from tests.support.seaweedfs import SeaweedFSServer

S3_VARIABLES = ("S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@pytest.mark.parametrize(
    ("media_backend", "deploy_env", "expected"),
    [
        (None, None, "local"),
        (None, "development", "local"),
        (None, "", "local"),
        (None, "production", "s3"),
        (None, "staging", "s3"),
        (None, "preview", "s3"),
        (None, "Production", "s3"),
        ("local", "production", "local"),
        ("s3", None, "s3"),
        ("s3", "development", "s3"),
        (" S3 ", None, "s3"),
        ("", "staging", "s3"),
    ],
)
def test_selection_table(
    monkeypatch: pytest.MonkeyPatch, media_backend: str | None, deploy_env: str | None, expected: str
) -> None:
    if media_backend is not None:
        monkeypatch.setenv("MEDIA_BACKEND", media_backend)
    if deploy_env is not None:
        monkeypatch.setenv("DEPLOY_ENV", deploy_env)
    assert selected_backend() == expected


async def test_unknown_backend_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIA_BACKEND", "ftp")
    with pytest.raises(ConfigurationError, match="MEDIA_BACKEND='ftp'"):
        await get_media_store()


@pytest.mark.parametrize("missing", S3_VARIABLES)
@pytest.mark.parametrize("selection", [{"MEDIA_BACKEND": "s3"}, {"DEPLOY_ENV": "production"}])
async def test_s3_without_a_variable_names_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, missing: str, selection: dict[str, str]
) -> None:
    for name, value in selection.items():
        monkeypatch.setenv(name, value)
    for name in S3_VARIABLES:
        monkeypatch.setenv(name, "set")
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigurationError, match=missing) as raised:
        await get_media_store()
    assert raised.value.code == "configuration_error"
    assert not (tmp_path / "media").exists()


async def test_aws_without_an_endpoint_needs_the_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIA_BACKEND", "s3")
    for name in S3_VARIABLES:
        monkeypatch.setenv(name, "set")
    with pytest.raises(ConfigurationError, match="S3_REGION"):
        await get_media_store()


async def test_wrong_secret_stops_start_up(seaweedfs: SeaweedFSServer, monkeypatch: pytest.MonkeyPatch) -> None:
    use_s3(monkeypatch, seaweedfs, new_bucket(seaweedfs))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-" + seaweedfs.secret_access_key)
    with pytest.raises(ConfigurationError, match="AWS_SECRET_ACCESS_KEY") as raised:
        await get_media_store()
    assert "refused the credentials" in raised.value.message
    assert seaweedfs.secret_access_key not in raised.value.message


async def test_unknown_access_key_stops_start_up(seaweedfs: SeaweedFSServer, monkeypatch: pytest.MonkeyPatch) -> None:
    use_s3(monkeypatch, seaweedfs, new_bucket(seaweedfs))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nobody")
    with pytest.raises(ConfigurationError, match="AWS_ACCESS_KEY_ID"):
        await get_media_store()


async def test_missing_bucket_stops_start_up(seaweedfs: SeaweedFSServer, monkeypatch: pytest.MonkeyPatch) -> None:
    use_s3(monkeypatch, seaweedfs, "no-such-bucket")
    with pytest.raises(ConfigurationError, match="S3_BUCKET 'no-such-bucket' does not exist"):
        await get_media_store()


async def test_unusable_media_root_stops_start_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MEDIA_ROOT", str(blocker / "media"))
    with pytest.raises(ConfigurationError, match="MEDIA_ROOT"):
        await get_media_store()


async def test_one_store_per_process_and_one_log_line(media_env: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="common.media_store.factory")
    stores = await asyncio.gather(*(get_media_store() for _ in range(8)))
    assert all(store is stores[0] for store in stores)
    assert await get_media_store() is stores[0]
    lines = [record.getMessage() for record in caplog.records if record.name == "common.media_store.factory"]
    assert lines == [f"media store: backend {media_env}, location {stores[0].location}, store id {stores[0].store_id}"]
