"""Small builders of solution and prediction CSV bytes for the scoring tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def csv_bytes(header: str, rows: Iterable[Sequence[Any]], newline: str = "\n") -> bytes:
    lines = [header] + [",".join(str(v) for v in row) for row in rows]
    return (newline.join(lines) + newline).encode()


def solution_csv(
    ids: Iterable[Any], targets: Iterable[Any], usage: Iterable[str], target: str = "label"
) -> bytes:
    return csv_bytes(f"id,{target},usage", zip(ids, targets, usage, strict=True))


def alternating_usage(n: int) -> list[str]:
    return ["public" if i % 2 == 0 else "private" for i in range(n)]
