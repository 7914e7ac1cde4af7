"""The web, the worker and the benchmarks reach the job store only through ``get_job_store()``: no file under
``web/``, ``workers/`` or ``bench/`` imports a backend module or constructs a store class. Checked on the source
with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from common.config import PROJECT_ROOT

GUARDED_PACKAGES = ("web", "workers", "bench")
BACKEND_MODULES = frozenset({"common.jobs.local", "common.jobs.turso", "common.jobs.sql_store"})
STORE_CLASSES = frozenset({"LocalJobStore", "TursoJobStore", "SqlJobStore"})


def violations(source: str, filename: str) -> list[str]:
    """Every import of a backend module and every mention of a store class in ``source``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found += [
                f"{filename}:{node.lineno} imports {alias.name}"
                for alias in node.names
                if alias.name in BACKEND_MODULES
            ]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            imported = {f"{node.module}.{alias.name}" for alias in node.names}
            if node.module in BACKEND_MODULES or imported & BACKEND_MODULES:
                found.append(f"{filename}:{node.lineno} imports from {node.module}")
            found += [
                f"{filename}:{node.lineno} imports {alias.name}" for alias in node.names if alias.name in STORE_CLASSES
            ]
        elif isinstance(node, ast.Name) and node.id in STORE_CLASSES:
            found.append(f"{filename}:{node.lineno} uses {node.id}")
        elif isinstance(node, ast.Attribute) and node.attr in STORE_CLASSES:
            found.append(f"{filename}:{node.lineno} uses {node.attr}")
        elif isinstance(node, ast.Call) and _dynamic_import_of_backend(node):
            found.append(f"{filename}:{node.lineno} imports a backend dynamically")
    return found


def _dynamic_import_of_backend(call: ast.Call) -> bool:
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    if name not in {"import_module", "__import__"}:
        return False
    return any(isinstance(arg, ast.Constant) and arg.value in BACKEND_MODULES for arg in call.args)


def guarded_sources() -> list[Path]:
    return sorted(path for package in GUARDED_PACKAGES for path in (PROJECT_ROOT / package).rglob("*.py"))


def test_web_and_workers_reach_the_store_only_through_the_factory() -> None:
    sources = guarded_sources()
    found = [
        problem
        for path in sources
        for problem in violations(path.read_text(encoding="utf-8"), str(path.relative_to(PROJECT_ROOT)))
    ]
    assert found == [], "use `await get_job_store()` from common.jobs instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        "import common.jobs.local",
        "import common.jobs.turso as t",
        "from common.jobs.local import LocalJobStore",
        "from common.jobs import turso",
        "from common.jobs.sql_store import SqlJobStore",
        "from common.jobs import sql_store as s",
        "store = jobs.local.LocalJobStore(path, conn)",
        "async def f():\n    return await TursoJobStore.open(url)",
        "import importlib\nimportlib.import_module('common.jobs.turso')",
    ],
)
def test_the_check_catches_each_way_round_the_factory(source: str) -> None:
    assert violations(source, "web/example.py")


@pytest.mark.parametrize(
    "source",
    [
        "from common.jobs import get_job_store, JobStore, Job",
        "from common.jobs.model import JobStatus",
        "from common.jobs.poll import to_poll_body",
        "import common.jobs",
    ],
)
def test_the_check_allows_the_public_interface(source: str) -> None:
    assert violations(source, "web/example.py") == []
