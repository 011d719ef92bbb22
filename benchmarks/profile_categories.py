"""Where a server's time goes: a py-spy collapsed-stack profile, by category.

``harness.running_server`` records the server under py-spy when
``PODIUM_BENCH_PROFILE`` names a file (``py-spy record -f raw``: one line per
distinct stack, ``frame;frame;...;leaf COUNT``, root first; idle samples are
not recorded). Each sample goes to the category of its innermost frame that
matches one (a SQLite call made by the bootstrap thread is database time; the
bootstrap's own arithmetic is bootstrap time; request code that matches
nothing counts for the HTTP layer that called it), except that a sample taken
while a module is being imported (anywhere in its stack) is "start-up
(imports)". Samples whose stack matches no category are "other".

    python benchmarks/profile_categories.py PROFILE.txt
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# (category, substrings of a frame "function (file:line)"), in table order.
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("validation", ("validate_csv (",)),
    ("database", ("sqlalchemy/", "sqlite3/", "psycopg/", "psycopg_pool/", "(<sqlite3")),
    ("scoring", ("csv_outcome (", "server/scoring/metrics", "sklearn/metrics/")),
    ("bootstrap", ("public_bootstrap (", "store_bootstrap (")),
    ("upload", ("multipart/", "stage_file (")),
    (
        "HTTP/event loop",
        ("uvicorn/", "h11/", "httptools/", "starlette/", "fastapi/", "uvloop/", "asyncio/"),
    ),
]
IMPORTS = "start-up (imports)"
IMPORT_FRAME = "<frozen importlib._bootstrap"
OTHER = "other"
ORDER = [name for name, _ in CATEGORIES] + [IMPORTS, OTHER]


def category_of(frames: list[str]) -> str:
    """The category of the innermost frame (the last one) that matches one."""
    if any(IMPORT_FRAME in frame for frame in frames):
        return IMPORTS
    for frame in reversed(frames):
        for name, needles in CATEGORIES:
            if any(needle in frame for needle in needles):
                return name
    return OTHER


def parse_line(line: str) -> tuple[list[str], int] | None:
    """``(frames, samples)`` of one collapsed-stack line; None for a blank or bad one."""
    stack, _, count = line.rstrip("\n").rpartition(" ")
    if not stack or not count.isdigit():
        return None
    return stack.split(";"), int(count)


def categorize(lines: Iterable[str]) -> Counter[str]:
    """Samples per category over a collapsed-stack profile."""
    totals: Counter[str] = Counter()
    for line in lines:
        parsed = parse_line(line)
        if parsed is not None:
            frames, samples = parsed
            totals[category_of(frames)] += samples
    return totals


@dataclass(frozen=True)
class Share:
    category: str
    samples: int
    percent: float


def shares(totals: Counter[str]) -> list[Share]:
    """Every category in table order with its share of the samples taken outside
    imports (a short run is mostly the server's start-up; imports: their share of all)."""
    busy = sum(n for name, n in totals.items() if name != IMPORTS)
    total = sum(totals.values())
    return [
        Share(
            name,
            totals[name],
            100.0 * totals[name] / (total if name == IMPORTS else busy)
            if (total if name == IMPORTS else busy)
            else 0.0,
        )
        for name in ORDER
    ]


def table(totals: Counter[str]) -> str:
    """The categories as a text table: samples, and share of the server's busy
    samples outside imports (the imports' row: of all samples)."""
    width = max(len(name) for name in ORDER)
    lines = [f"  {'where':<{width}}  {'samples':>8}  {'share':>6}"]
    for share in shares(totals):
        note = "  (of all samples; not in the other shares)" if share.category == IMPORTS else ""
        lines.append(
            f"  {share.category:<{width}}  {share.samples:>8}  {share.percent:>5.1f}%{note}"
        )
    lines.append(f"  {'total':<{width}}  {sum(totals.values()):>8}")
    return "\n".join(lines)


def profile_table(path: Path) -> str:
    with path.open(encoding="utf-8", errors="replace") as profile:
        return table(categorize(profile))


if __name__ == "__main__":
    print(profile_table(Path(sys.argv[1])))
