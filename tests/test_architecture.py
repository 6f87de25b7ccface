"""The folders are the pipeline: imports point only to earlier stages or down to the core.

    core -> read (connectors/) -> protect -> model -> gate -> link -> store -> publish -> serve
         -> run (plan, per-table job, sync, executors) -> entry (CLI, demo, DataHub plugins)

Every import counts, function-level and ``TYPE_CHECKING`` ones included: a lazy import is still a
dependency. Modules of one stage may import each other, but no module may reach itself again.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STAGES = ["core", "connectors", "protect", "model", "gate", "link", "store", "publish", "serve", "run", "entry"]
LARGEST_MODULE_LINES = 420


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    paths = [*ROOT.glob("catalog_synth/**/*.py"), *ROOT.glob("connectors/**/*.py")]
    return {_module_name(path): path for path in paths}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Project modules ``name`` imports (``from pkg import module`` counts as the module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known)
    return {module for module in found if module in known and module != name}


def _stage(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "connectors":
        return "connectors"
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def test_every_module_lives_in_a_stage(graph: dict[str, set[str]]) -> None:
    outside = sorted(
        name for name in graph if _stage(name) is None and name not in ("catalog_synth", "catalog_synth.__main__")
    )
    assert not outside, f"modules outside the stage folders: {outside}"


def test_no_import_points_to_a_later_stage(graph: dict[str, set[str]]) -> None:
    upward = sorted(
        f"{name} -> {target}"
        for name, targets in graph.items()
        for target in targets
        if _stage(name) and _stage(target) and STAGES.index(_stage(target)) > STAGES.index(_stage(name))
    )
    assert not upward, "imports pointing up the pipeline:\n" + "\n".join(upward)


def test_no_import_circle(graph: dict[str, set[str]]) -> None:
    circles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for target in graph[node]:
                if target == start:
                    circles.append(" -> ".join([*path, start]))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, [*path, target]))
    assert not circles, "import circles:\n" + "\n".join(sorted(set(circles)))


def test_modules_stay_small() -> None:
    large = {
        name: lines
        for name, path in _modules().items()
        if (lines := len(path.read_text().splitlines())) > LARGEST_MODULE_LINES
    }
    assert not large, f"modules over {LARGEST_MODULE_LINES} lines: {large}"


def test_the_checks_catch_an_upward_import_and_a_circle(tmp_path: Path) -> None:
    """The checks themselves can fail: a store module importing the CLI is upward, two
    modules importing each other are a circle."""
    fake = {
        "catalog_synth.store.copies": {"catalog_synth.entry.cli"},
        "catalog_synth.entry.cli": {"catalog_synth.store.copies"},
    }
    with pytest.raises(AssertionError, match="store.copies -> catalog_synth.entry.cli"):
        test_no_import_points_to_a_later_stage(fake)
    with pytest.raises(AssertionError, match="import circles"):
        test_no_import_circle(fake)
