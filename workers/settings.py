"""The worker's settings: one typed dataclass, read from the environment, each overridable on the command line.

Every field names its environment variable and its help text in its metadata, so ``--help``, the environment and
the defaults can never drift apart.
"""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

from common.errors import ConfigurationError

DEFAULT_TIMEOUTS_S = "ingest=1800,edit.preview=600,edit.save=1800,render=3600"


def _setting(default: Any, env: str, help_text: str) -> Any:
    return field(default=default, metadata={"env": env, "help": help_text})


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    concurrency: int = _setting(4, "WORKER_CONCURRENCY", "jobs run at once by this process")
    lease_s: float = _setting(30.0, "WORKER_LEASE_S", "lease length: a job whose worker stops renewing it is re-run")
    heartbeat_s: float = _setting(
        2.0, "WORKER_HEARTBEAT_S", "how often a running job's lease is renewed; also bounds how fast a cancel lands"
    )
    poll_min_s: float = _setting(
        0.04,
        "WORKER_POLL_MIN_S",
        "first idle poll interval; also how often an idle worker checks the change signal when the store "
        "gives no commit hint",
    )
    poll_max_s: float = _setting(
        0.15,
        "WORKER_POLL_MAX_S",
        "longest wait between claims when idle: the pickup delay on a store without a change signal (Turso, sqld)",
    )
    timeout_s: float = _setting(3600.0, "WORKER_TIMEOUT_S", "timeout of a job type not named in --timeouts")
    timeouts: str = _setting(DEFAULT_TIMEOUTS_S, "WORKER_TIMEOUTS", "per-type timeouts, TYPE=SECONDS,...")
    retry_base_s: float = _setting(2.0, "WORKER_RETRY_BASE_S", "first retry delay; doubles per attempt, with jitter")
    retry_max_s: float = _setting(300.0, "WORKER_RETRY_MAX_S", "longest retry delay")
    retention_days: float = _setting(
        7.0, "WORKER_RETENTION_DAYS", "finished jobs are deleted after this many days; 0 keeps them"
    )
    preview_retention_hours: float = _setting(
        24.0, "PREVIEW_RETENTION_HOURS", "previews are removed this many hours after they were made; 0 keeps them"
    )
    requeue_interval_s: float = _setting(
        5.0, "WORKER_REQUEUE_INTERVAL_S", "how often jobs of dead workers (lapsed leases) are queued again"
    )
    grace_s: float = _setting(25.0, "WORKER_GRACE_S", "on SIGTERM/SIGINT, time running jobs get before release")
    progress_first_s: float = _setting(
        2.0,
        "WORKER_PROGRESS_FIRST_S",
        "time from a job's claim to its first progress write: followers learn its pace from it",
    )
    progress_interval_s: float = _setting(
        20.0,
        "WORKER_PROGRESS_INTERVAL_S",
        "least time between two later progress writes of one job: each write answers every long-poll on the job",
    )
    handlers: str = _setting("workers.handlers", "WORKER_HANDLERS", "module whose HANDLERS dict maps job types")
    burst: bool = _setting(False, "WORKER_BURST", "run what is runnable now, then exit")

    def __post_init__(self) -> None:
        positive = (
            "concurrency",
            "lease_s",
            "heartbeat_s",
            "poll_min_s",
            "poll_max_s",
            "timeout_s",
            "progress_first_s",
            "progress_interval_s",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"worker setting {name} must be positive, got {getattr(self, name)}")
        if self.heartbeat_s >= self.lease_s:
            raise ConfigurationError(
                f"heartbeat_s ({self.heartbeat_s}) must be shorter than lease_s ({self.lease_s}), or leases lapse"
            )
        if self.poll_min_s > self.poll_max_s:
            raise ConfigurationError(f"poll_min_s ({self.poll_min_s}) must not exceed poll_max_s ({self.poll_max_s})")
        parse_timeouts(self.timeouts)

    def timeout_for(self, job_type: str) -> float:
        return parse_timeouts(self.timeouts).get(job_type, self.timeout_s)

    @property
    def retention_s(self) -> float:
        return self.retention_days * 86400.0

    @property
    def preview_retention_s(self) -> float:
        return self.preview_retention_hours * 3600.0


@functools.lru_cache(maxsize=16)
def parse_timeouts(text: str) -> dict[str, float]:
    """``"ingest=1800,render=3600"`` as a mapping; raises ``ConfigurationError`` naming the bad item."""
    timeouts: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        job_type, sep, seconds = item.partition("=")
        try:
            value = float(seconds)
        except ValueError:
            value = -1.0
        if not sep or not job_type.strip() or value <= 0:
            raise ConfigurationError(f"worker timeout {item!r} is not TYPE=SECONDS with positive seconds")
        timeouts[job_type.strip()] = value
    return timeouts


def _convert(name: str, kind: type, text: str) -> Any:
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise ConfigurationError(f"worker setting {name}: {text!r} is not a boolean")
    try:
        return kind(text)
    except ValueError as exc:
        raise ConfigurationError(f"worker setting {name}: {text!r} is not a {kind.__name__}") from exc


_KINDS: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool}


def _kind(annotation: Any) -> type:
    return _KINDS[annotation if isinstance(annotation, str) else annotation.__name__]


def settings_from_env(environ: Mapping[str, str] | None = None) -> WorkerSettings:
    environ = os.environ if environ is None else environ
    if environ.get("WORKER_MAX_ATTEMPTS", "").strip():
        # Refused rather than ignored: an operator who sets it expects it to change how often jobs run.
        raise ConfigurationError(
            "WORKER_MAX_ATTEMPTS no longer exists: a job's attempts are set when it is created, from JOB_MAX_ATTEMPTS"
        )
    values: dict[str, Any] = {}
    for spec in fields(WorkerSettings):
        text = environ.get(spec.metadata["env"])
        if text is not None and text.strip():
            values[spec.name] = _convert(spec.name, _kind(spec.type), text)
    return WorkerSettings(**values)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m workers",
        description="Run audioprep jobs from the job store. Each option can also be set by its environment variable.",
    )
    for spec in fields(WorkerSettings):
        option = "--" + spec.name.replace("_", "-")
        default = spec.default if spec.default is not MISSING else None
        help_text = f"{spec.metadata['help']} (env {spec.metadata['env']}; default: {default})"
        if _kind(spec.type) is bool:
            parser.add_argument(option, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            parser.add_argument(option, type=_kind(spec.type), default=None, metavar=spec.name.upper(), help=help_text)
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"), help="logging level")
    return parser


def settings_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> WorkerSettings:
    """Settings from the environment, with the options given on the command line on top."""
    overrides = {spec.name: getattr(args, spec.name) for spec in fields(WorkerSettings)}
    return replace(settings_from_env(environ), **{k: v for k, v in overrides.items() if v is not None})
