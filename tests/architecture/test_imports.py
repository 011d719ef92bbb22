"""The import graph stays as docs/architecture.md draws it.

``lint-imports`` (``make lint``) checks the layer contracts of pyproject.toml;
these tests add what a contract cannot say: no import cycle anywhere inside
``server``, and no import inside a function body outside the CLI and the demo
(an import tucked into a function is how a cycle hides).
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "server"

# Where an import inside a function is fine: commands import what they run,
# lazily, so that `podium-server --help` stays fast; the demo is a script.
FUNCTION_IMPORTS_ANYWHERE = ("server/cli.py", "server/demo/")
# Justified exceptions, one reason each: (file, function) -> why it cannot be at the top.
FUNCTION_IMPORTS_ALLOWED = {
    ("server/checkpoints/upload.py", "check_weights"): (
        "torch is optional on the server (the worker checks the architecture when it is "
        "missing) and costs seconds to import: only a safetensors upload loads it"
    ),
    ("server/checkpoints/inference.py", "_preload_export"): (
        "runs in the sandbox only: torch.export's deserializer is loaded before the "
        "model's clock for export programs, and every other format would pay its import time"
    ),
}


def server_graph() -> grimp.ImportGraph:
    return grimp.build_graph("server", include_external_packages=False)


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm, iteratively: every group of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_the_server_has_no_import_cycle() -> None:
    graph = server_graph()
    cycles = strongly_connected(graph)
    described = []
    for group in cycles:
        chain = graph.find_shortest_chain(importer=group[1], imported=group[0]) or ()
        back = graph.find_shortest_chain(importer=group[0], imported=group[1]) or ()
        described.append(f"{' -> '.join(back)} and back: {' -> '.join(chain)}")
    assert not cycles, "import cycles inside server:\n" + "\n".join(described)


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert strongly_connected(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def function_level_imports(path: Path) -> list[tuple[str, int, str]]:
    """(function, line, module) of every import inside a function body of ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    found += [(node.name, inner.lineno, alias.name) for alias in inner.names]
                elif isinstance(inner, ast.ImportFrom):
                    found.append((node.name, inner.lineno, inner.module or "."))
    return found


def test_no_function_level_imports_outside_the_cli_and_the_demo() -> None:
    offending, used = [], set()
    for path in sorted(SERVER.rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name.startswith(FUNCTION_IMPORTS_ANYWHERE):
            continue
        for function, line, module in function_level_imports(path):
            if (name, function) in FUNCTION_IMPORTS_ALLOWED:
                used.add((name, function))
                continue
            offending.append(f"{name}:{line} imports {module} inside {function}()")
    assert not offending, (
        "move these imports to the top of their module (an import cycle is fixed by "
        "moving code, not by hiding the import):\n" + "\n".join(offending)
    )
    stale = set(FUNCTION_IMPORTS_ALLOWED) - used
    assert not stale, f"allowed function-level imports that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize(
    "source", ["def f():\n    import os\n", "async def f():\n    from a import b\n"]
)
def test_the_function_import_check_sees_them(tmp_path: Path, source: str) -> None:
    path = tmp_path / "module.py"
    path.write_text(source)
    assert len(function_level_imports(path)) == 1


def test_every_server_import_names_a_module_that_exists() -> None:
    """mypy ignores missing imports and grimp drops them: after a move, an import of
    the old path would only fail when that code runs."""
    missing = set()
    for folder in ("server", "tests", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                for name in names:
                    if name.split(".")[0] == "server" and importlib.util.find_spec(name) is None:
                        missing.add(f"{path.relative_to(ROOT)}: {name}")
    assert not missing, "imports of modules that do not exist:\n" + "\n".join(sorted(missing))
