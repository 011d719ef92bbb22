"""Settings and the blob store are passed in, not fetched from globals deep inside.

The job state machine's lease, sweeper and recovery, the notifications and
the submission gate get the settings (and the store) from their caller: the
app's lifespan, a route's FastAPI dependency (``SettingsDep``, ``StoreDep``),
a worker's entry point. So they can be called with any settings (a test's, a
second database's) and what they read is visible in their signature.
A global lookup is ``get_settings()`` or ``get_blob_store()`` used at all, or
``session_scope()`` / ``get_engine()`` / ``get_sessionmaker()`` called
without the settings (they would fall back to ``get_settings()``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSED_IN = (
    "server/queue/lease.py",
    "server/queue/sweeper.py",
    "server/queue/recovery.py",
    "server/insight/notify.py",
    "server/submissions/gate.py",
)
GLOBALS = frozenset({"get_settings", "get_blob_store"})
NEED_SETTINGS = frozenset({"session_scope", "get_engine", "get_sessionmaker"})


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def global_lookups(source: str) -> list[tuple[int, str]]:
    """(line, what) for every global settings or store lookup in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            found += [(node.lineno, f"imports {a.name}") for a in node.names if a.name in GLOBALS]
        elif isinstance(node, ast.Name | ast.Attribute) and _name(node) in GLOBALS:
            found.append((node.lineno, f"uses {_name(node)}"))
        elif (
            isinstance(node, ast.Call)
            and _name(node.func) in NEED_SETTINGS
            and not (node.args or node.keywords)
        ):
            found.append((node.lineno, f"calls {_name(node.func)}() without the settings"))
    return found


def test_settings_and_the_store_are_passed_in() -> None:
    offending = [
        f"{name}:{line} {what}"
        for name in PASSED_IN
        for line, what in global_lookups((ROOT / name).read_text(encoding="utf-8"))
    ]
    assert not offending, (
        "take the settings (and the blob store) as a parameter from the caller (the app's "
        "lifespan, a route's SettingsDep/StoreDep, a worker's entry point):\n"
        + "\n".join(offending)
    )


@pytest.mark.parametrize(
    "source",
    [
        "from server.config import get_settings\n",
        "def f():\n    return config.get_settings().env\n",
        "def f(settings=None):\n    return settings or get_blob_store()\n",
        "def f():\n    with session_scope() as session:\n        pass\n",
        "def f():\n    return db.get_engine()\n",
    ],
)
def test_the_check_sees_a_global_lookup(source: str) -> None:
    assert global_lookups(source)


def test_the_check_lets_passed_settings_through() -> None:
    source = "def f(settings):\n    with session_scope(settings) as s:\n        return s\n"
    assert global_lookups(source) == []
