"""The web, the worker and the benchmarks reach the job store only through ``get_job_store()``: no file under
``web/``, ``workers/`` or ``bench/`` imports a backend module or constructs a store class. And the web loads no
module of the audio engine (``common.audio``), directly or through what it imports: it validates requests with
``common`` modules outside the engine. Checked on the source with ``ast``."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

import pytest

from common.config import PROJECT_ROOT

GUARDED_PACKAGES = ("web", "workers", "bench")
PROJECT_PACKAGES = ("common", "web", "workers")
AUDIO_ENGINE = "common.audio"
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


def project_modules() -> dict[str, Path]:
    """Every module of the project's packages by dotted name (a package by its ``__init__``)."""
    modules: dict[str, Path] = {}
    for package in PROJECT_PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported_names(source: str, filename: str) -> set[str]:
    """Every dotted name ``source`` imports, at module level or inside functions; ``from a import b`` gives both
    ``a`` and ``a.b`` (``b`` may be a module)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names


def import_graph() -> dict[str, set[str]]:
    """Each project module and the project modules importing it loads, parent packages included."""
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        loaded: set[str] = set()
        for imported in imported_names(path.read_text(encoding="utf-8"), str(path)):
            parts = imported.split(".")
            loaded |= {".".join(parts[:end]) for end in range(1, len(parts) + 1)} & modules.keys()
        graph[name] = loaded - {name}
    return graph


def audio_engine_paths(graph: Mapping[str, set[str]], package: str) -> list[str]:
    """For each module of ``package`` that loads the audio engine, the chain of imports that does it."""
    found = []
    for start in sorted(name for name in graph if name == package or name.startswith(package + ".")):
        came_from: dict[str, str | None] = {start: None}
        queue = [start]
        while queue:
            current = queue.pop(0)
            if current == AUDIO_ENGINE or current.startswith(AUDIO_ENGINE + "."):
                chain = [current]
                while (previous := came_from[chain[-1]]) is not None:
                    chain.append(previous)
                found.append(" -> ".join(reversed(chain)))
                break
            for imported in sorted(graph.get(current, ())):
                if imported not in came_from:
                    came_from[imported] = current
                    queue.append(imported)
    return found


def test_the_web_loads_no_module_of_the_audio_engine() -> None:
    found = audio_engine_paths(import_graph(), "web")
    assert found == [], "the web must not load common.audio (validate requests outside the engine):\n" + "\n".join(
        found
    )


def test_the_audio_check_follows_imports_through_other_modules() -> None:
    graph = {
        "web.routes.x": {"common.render_options"},
        "common.render_options": {"common.rules", "common.audio.peaks"},
        "common.audio.peaks": set(),
        "web.y": {"common.rules"},
        "common.rules": set(),
    }

    assert audio_engine_paths(graph, "web") == ["web.routes.x -> common.render_options -> common.audio.peaks"]


def test_the_import_graph_sees_imports_inside_functions_and_parent_packages() -> None:
    source = "def f():\n    from common.audio.peaks import PeaksBuilder\n"

    assert "common.audio.peaks" in imported_names(source, "web/example.py")
    # workers.handlers.render imports common.audio.render, which loads the package common.audio first.
    assert {"common.audio", "common.audio.render"} <= import_graph()["workers.handlers.render"]
