"""Shared rendering: rich tables for people, JSON and CSV for scripts."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from .._models import LimitLeft

console = Console(highlight=False)

MISSING = "—"


def print_json(data: Any) -> None:
    """Plain JSON on stdout (no colours), stable for scripts."""
    typer.echo(json.dumps(data, indent=2, default=str))


def print_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])


def table(*columns: str, title: str | None = None) -> Table:
    t = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        t.add_column(column, justify="right" if column in NUMERIC_COLUMNS else "left")
    return t


NUMERIC_COLUMNS = frozenset(
    {"id", "rank", "score", "public", "private", "size", "teams", "subs", "move", "submissions"}
)


def score(value: float | None) -> str:
    return MISSING if value is None else f"{value:.6g}"


def when(value: datetime | None) -> str:
    if value is None:
        return MISSING
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def size(num: int | None) -> str:
    if num is None:
        return MISSING
    amount = float(num)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{num} B"  # pragma: no cover


def text(value: object) -> str:
    return MISSING if value is None or value == "" else str(value)


def move(value: int | None) -> str:
    if value is None:
        return MISSING
    return f"+{value}" if value > 0 else str(value)


def limits_lines(limits: list[LimitLeft] | None) -> list[str]:
    """What is left under every limit the challenge sets, one line each."""
    lines = []
    for use in limits or []:
        line = f"{use.remaining} of {use.limit} left {use.label}"
        if use.kind == "min_interval_seconds":
            line = f"cool-down: {use.label}" + ("" if use.remaining else ", waiting")
        if use.next_at is not None:
            line += f"; next possible at {when(use.next_at)}"
        lines.append(line)
    return lines
