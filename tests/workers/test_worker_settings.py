from __future__ import annotations

import pytest

from common.errors import ConfigurationError
from workers.settings import WorkerSettings, build_parser, parse_timeouts, settings_from_args, settings_from_env


def load(argv: list[str], environ: dict[str, str]) -> WorkerSettings:
    return settings_from_args(build_parser().parse_args(argv), environ)


def test_defaults_apply_without_environment_or_flags() -> None:
    assert load([], {}) == WorkerSettings()


def test_environment_sets_and_flags_override() -> None:
    environ = {"WORKER_CONCURRENCY": "7", "WORKER_LEASE_S": "12.5", "WORKER_BURST": "yes", "WORKER_GRACE_S": "3"}
    settings = load(["--concurrency", "2", "--no-burst"], environ)
    assert settings.concurrency == 2
    assert settings.lease_s == 12.5
    assert settings.grace_s == 3.0
    assert settings.burst is False
    assert settings_from_env(environ).burst is True


def test_help_names_every_setting_its_variable_and_default() -> None:
    text = " ".join(build_parser().format_help().split())
    for name, variable, default in [
        ("--concurrency", "WORKER_CONCURRENCY", "default: 4"),
        ("--heartbeat-s", "WORKER_HEARTBEAT_S", "default: 2.0"),
        ("--grace-s", "WORKER_GRACE_S", "default: 25.0"),
        ("--retention-days", "WORKER_RETENTION_DAYS", "default: 7.0"),
        ("--handlers", "WORKER_HANDLERS", "default: workers.handlers"),
        ("--burst", "WORKER_BURST", "default: False"),
    ]:
        assert name in text
        assert f"env {variable}; {default}" in text


def test_per_type_timeouts_fall_back_to_the_default() -> None:
    settings = load(["--timeouts", "render=90, ingest=30", "--timeout-s", "5"], {})
    assert settings.timeout_for("render") == 90
    assert settings.timeout_for("ingest") == 30
    assert settings.timeout_for("edit.save") == 5


@pytest.mark.parametrize(
    "environ",
    [
        {"WORKER_CONCURRENCY": "many"},
        {"WORKER_CONCURRENCY": "0"},
        {"WORKER_BURST": "maybe"},
        {"WORKER_HEARTBEAT_S": "30", "WORKER_LEASE_S": "10"},
        {"WORKER_POLL_MIN_S": "2", "WORKER_POLL_MAX_S": "1"},
        {"WORKER_TIMEOUTS": "render"},
        {"WORKER_TIMEOUTS": "render=-1"},
    ],
)
def test_impossible_settings_are_configuration_errors(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        settings_from_env(environ)


def test_parse_timeouts_ignores_empty_items() -> None:
    assert parse_timeouts("a=1,,b=2.5,") == {"a": 1.0, "b": 2.5}
