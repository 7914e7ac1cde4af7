"""``get_job_store()``: the selection table, its two error cases, one store per process, and its one log line."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from common.config import PROJECT_ROOT
from common.errors import ConfigurationError
from common.jobs import close_job_store, get_job_store
from common.jobs.factory import selected_backend
from tests.support.sqld import running_sqld


@pytest.mark.parametrize(
    ("job_store_backend", "deploy_env", "expected"),
    [
        (None, None, "local"),
        (None, "development", "local"),
        (None, "test", "local"),
        (None, "", "local"),
        (None, "production", "turso"),
        (None, "staging", "turso"),
        (None, "preview", "turso"),
        (None, "Production", "turso"),
        ("local", "production", "local"),
        ("turso", None, "turso"),
        ("turso", "development", "turso"),
        (" TURSO ", None, "turso"),
        ("", "staging", "turso"),
    ],
)
def test_selection_table(
    monkeypatch: pytest.MonkeyPatch, job_store_backend: str | None, deploy_env: str | None, expected: str
) -> None:
    if job_store_backend is not None:
        monkeypatch.setenv("JOB_STORE_BACKEND", job_store_backend)
    if deploy_env is not None:
        monkeypatch.setenv("DEPLOY_ENV", deploy_env)
    assert selected_backend() == expected


@pytest.mark.parametrize("settings", [{"JOB_STORE_BACKEND": "turso"}, {"DEPLOY_ENV": "production"}])
async def test_turso_without_url_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: dict[str, str]
) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match="TURSO_DATABASE_URL"):
        await get_job_store()
    assert not (tmp_path / "jobs.sqlite3").exists()


async def test_unknown_backend_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOB_STORE_BACKEND", "postgres")
    with pytest.raises(ConfigurationError, match="postgres") as raised:
        await get_job_store()
    assert raised.value.code == "configuration_error"


async def test_unsupported_url_scheme_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOB_STORE_BACKEND", "turso")
    monkeypatch.setenv("TURSO_DATABASE_URL", "postgres://127.0.0.1:5432/jobs")
    with pytest.raises(ConfigurationError, match="TURSO_DATABASE_URL"):
        await get_job_store()


async def test_local_store_uses_job_store_path(tmp_path: Path) -> None:
    store = await get_job_store()
    assert store.backend == "local"
    assert store.location == str(tmp_path / "jobs.sqlite3")
    assert (tmp_path / "jobs.sqlite3").exists()


@pytest.fixture
def relative_store_path(tmp_path: Path) -> tuple[str, Path]:
    target = tmp_path / "relative" / "jobs.sqlite3"
    return os.path.relpath(target, PROJECT_ROOT), target


async def test_relative_job_store_path_is_taken_from_the_project_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, relative_store_path: tuple[str, Path]
) -> None:
    relative, target = relative_store_path
    monkeypatch.setenv("JOB_STORE_PATH", relative)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    store = await get_job_store()
    assert store.location == str(target)
    assert target.exists()


async def test_concurrent_first_calls_make_one_store(store_env: str) -> None:
    stores = await asyncio.gather(*(get_job_store() for _ in range(50)))
    assert all(store is stores[0] for store in stores)
    assert await get_job_store() is stores[0]
    await close_job_store()
    assert await get_job_store() is not stores[0]


async def test_failed_open_is_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOB_STORE_BACKEND", "turso")
    with pytest.raises(ConfigurationError):
        await get_job_store()
    monkeypatch.setenv("JOB_STORE_BACKEND", "local")
    assert (await get_job_store()).backend == "local"


async def test_first_use_logs_one_line_without_the_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "secret-token-value-123"
    with running_sqld(tmp_path / "sqld") as server:
        monkeypatch.setenv("DEPLOY_ENV", "staging")
        monkeypatch.setenv("TURSO_DATABASE_URL", f"{server.http_url}?authToken={secret}")
        monkeypatch.setenv("TURSO_AUTH_TOKEN", secret)
        with caplog.at_level(logging.DEBUG, logger="common.jobs"):
            stores = await asyncio.gather(*(get_job_store() for _ in range(5)))
            await stores[0].create_job("ingest", {})
            await close_job_store()
    lines = [record.getMessage() for record in caplog.records if record.name == "common.jobs.factory"]
    assert lines == [f"job store: backend turso, location {server.http_url}, store id {stores[0].store_id}"]
    assert secret not in caplog.text
