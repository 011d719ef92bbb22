"""The hidden solution: parsing, validation and the lookup structures scoring needs.

A solution is a CSV ``id,<target>,usage`` (Kaggle's convention). Parsing is
strict and every error names what to fix, because it is shown to the
organizer who uploaded the file. The parsed :class:`Solution` precomputes
everything that does not depend on a submission (class codes, the public and
private row indices, an id index), so scoring a submission only pays for the
submission; :func:`load_solution` keeps a few parsed solutions in memory.

The parsed structure is :class:`~server.scoring.table.Solution`; reading CSV
bytes and phrasing errors is ``server.scoring.csvread``, which ``predictions``
shares with its own error class.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from server.scoring.csvread import (
    _EXAMPLES_SHOWN,
    _MAX_VALUE_TEXT,
    Source,
    _check_utf8,
    _examples,
    _mask,
    _parse_floats,
    _parse_ints,
    _parse_labels,
    _plural,
    _read_header,
    _read_source,
    _read_strings,
    _RowNames,
    _show,
    _shown_header,
    _trimmed,
)
from server.scoring.metrics import Metric, get_metric
from server.scoring.table import Solution, SolutionError, _class_array

__all__ = [
    "Solution",
    "SolutionError",
    "Source",
    "clear_solution_cache",
    "load_solution",
    "parse_solution",
]


_SOLUTION_CACHE_SIZE = 8


# --------------------------------------------------------------------------
# The parsed solution


# --------------------------------------------------------------------------
# CSV helpers shared with predictions


# --------------------------------------------------------------------------
# Parsing


def parse_solution(source: Source, metric: str) -> Solution:
    """Parse and validate a solution CSV for ``metric``.

    ``source`` is a path (``str`` or path-like) or the file's bytes. Raises
    :class:`SolutionError` naming the first offending rows.
    """
    try:
        scorer = get_metric(metric)
    except ValueError as exc:
        raise SolutionError(str(exc)) from None
    data = _read_source(source)
    fields, header_text, _ = _read_header(data, SolutionError)
    if (
        len(fields) != 3
        or fields[0] != "id"
        or fields[2] != "usage"
        or fields[1] in ("", "id", "usage")
    ):
        raise SolutionError(
            "header must be 'id,<target>,usage' (for example 'id,label,usage'), "
            f"got {_shown_header(header_text)}"
        )
    target = fields[1]
    _check_utf8(data, SolutionError)
    table = _read_strings(data, fields, SolutionError)
    n = table.num_rows
    if n == 0:
        raise SolutionError("the solution has a header but no rows")
    rows = _RowNames(data, n)
    id_strings, target_strings, usage_strings = (_trimmed(c) for c in table.columns)

    ids = _parse_solution_ids(id_strings, rows)
    public_mask = _parse_usage(usage_strings, rows)
    if scorer.needs_classes:
        y, classes = _parse_classes(target_strings, target, rows)
    else:
        y, classes = _parse_values(target_strings, target, rows), None
    _check_computable(scorer, y, classes, public_mask)
    return Solution(target=target, ids=ids, y=y, public_mask=public_mask, classes=classes)


def _parse_solution_ids(id_strings: pa.Array, rows: _RowNames) -> np.ndarray:
    empty = np.flatnonzero(np.asarray(pc.utf8_length(id_strings), dtype=np.int64) == 0)
    if len(empty):
        raise SolutionError(f"ids must not be empty: {rows.describe(empty)}")
    values, valid = _parse_ints(id_strings)
    ids: np.ndarray
    if valid.all():
        ids = values
        id_array: pa.Array = pa.array(values)
    else:
        ids = np.asarray(id_strings.to_pylist(), dtype=object)
        id_array = id_strings
    if len(pc.unique(id_array)) != len(ids):
        encoded = pc.dictionary_encode(id_array)
        indices = np.asarray(encoded.indices, dtype=np.int64)
        counts = np.bincount(indices)
        repeated_rows = np.flatnonzero(counts[indices] > 1)
        distinct, first_rows = np.unique(indices[repeated_rows], return_index=True)
        items = []
        for code in distinct[np.argsort(first_rows)][:_EXAMPLES_SHOWN]:
            same = repeated_rows[indices[repeated_rows] == code]
            items.append(f"{_show(ids[same[0]])} ({rows.numbers([int(r) for r in same])})")
        repeated = _plural(len(distinct), "id")
        raise SolutionError(
            f"ids must be unique; {repeated} repeated: {_examples(items, len(distinct))}"
        )
    return ids


def _parse_usage(usage_strings: pa.Array, rows: _RowNames) -> np.ndarray:
    lowered = pc.utf8_lower(usage_strings)
    public = _mask(pc.equal(lowered, "public"))
    private = _mask(pc.equal(lowered, "private"))
    invalid = np.flatnonzero(~(public | private))
    if len(invalid):
        raise SolutionError(
            "usage must be 'public' or 'private': "
            + rows.describe(invalid, usage_strings.to_numpy(zero_copy_only=False))
        )
    if not public.any() or not private.any():
        raise SolutionError(
            "the solution needs both public and private rows; it has "
            f"{int(public.sum())} public and {int(private.sum())} private"
        )
    return public


def _parse_values(target_strings: pa.Array, target: str, rows: _RowNames) -> np.ndarray:
    values, valid = _parse_floats(target_strings)
    invalid = np.flatnonzero(~valid)
    if len(invalid):
        raise SolutionError(
            f"{target!r} must be a number between -{_MAX_VALUE_TEXT} and {_MAX_VALUE_TEXT}: "
            + rows.describe(invalid, target_strings.to_numpy(zero_copy_only=False))
        )
    return values


def _parse_classes(
    target_strings: pa.Array, target: str, rows: _RowNames
) -> tuple[np.ndarray, list[Any]]:
    empty = np.flatnonzero(np.asarray(pc.utf8_length(target_strings), dtype=np.int64) == 0)
    if len(empty):
        raise SolutionError(f"{target!r} must not be empty: {rows.describe(empty)}")
    # Control characters (NUL, tabs, ...) make labels that numpy and sklearn order
    # differently ('\x00' vs ''), and no real class name needs them.
    control = np.flatnonzero(
        np.asarray(pc.match_substring_regex(target_strings, r"[\x00-\x1f\x7f]"), dtype=bool)
    )
    if len(control):
        raise SolutionError(
            f"{target!r} labels must not contain control characters: {rows.describe(control)}"
        )
    values, valid = _parse_labels(target_strings, integer_classes=True)
    if valid.all():
        y = np.asarray(values, dtype=np.int64)
        _check_one_spelling(target_strings, y, target, rows)
        classes: list[Any] = [int(c) for c in np.unique(y)]
    else:
        y = np.asarray(target_strings.to_pylist(), dtype=object)
        classes = sorted(pc.unique(target_strings).to_pylist())
    return y, classes


def _check_one_spelling(
    target_strings: pa.Array, y: np.ndarray, target: str, rows: _RowNames
) -> None:
    """Integer classes must each be written one way: '1' and '01' (or '1.0') would be
    one class here but two wherever labels are read as text; refuse the ambiguity."""
    pairs = pa.table({"text": target_strings, "value": pa.array(y)})
    spellings = pairs.group_by("value").aggregate([("text", "count_distinct")])
    ambiguous = np.asarray(spellings["value"])[np.asarray(spellings["text_count_distinct"]) > 1]
    if not len(ambiguous):
        return
    texts = target_strings.to_numpy(zero_copy_only=False)
    items = []
    for value in ambiguous[:_EXAMPLES_SHOWN]:
        rows_of_value = np.flatnonzero(y == value)
        _, first = np.unique(texts[rows_of_value], return_index=True)
        firsts = sorted(int(rows_of_value[i]) for i in first)
        shown = " and ".join(f"{texts[r]!r} ({rows.line(r)})" for r in firsts)
        items.append(f"{shown} are the same number")
    raise SolutionError(
        f"{target!r} writes a class more than one way: "
        + _examples(items, len(ambiguous))
        + "; write each class one way everywhere, or use names that are not numbers"
    )


def _check_computable(
    scorer: Metric, y: np.ndarray, classes: list[Any] | None, public_mask: np.ndarray
) -> None:
    """Refuse a solution on whose public or private part the metric is undefined."""
    parts = {"public": public_mask, "private": ~public_mask}
    if scorer.prediction_format == "probability":
        assert classes is not None
        if len(classes) < 2:
            raise SolutionError(
                f"{scorer.name} needs at least two classes; the target has only {_show(classes[0])}"
            )
    if scorer.name == "roc_auc":
        gaps = []
        for part, mask in parts.items():
            present = set(np.unique(y[mask]).tolist())
            gaps += [
                f"class {_show(c)} has no {part} rows" for c in classes or () if c not in present
            ]
        if gaps:
            raise SolutionError(
                "roc_auc needs every class among both the public and the private rows: "
                + _examples(gaps, len(gaps))
            )
    if scorer.name == "r2":
        for part, mask in parts.items():
            if mask.sum() < 2:
                raise SolutionError(f"r2 needs at least two {part} rows")
    # Safety net for whatever the checks above do not foresee: score a
    # constant prediction on each part.
    for part, mask in parts.items():
        y_part = y[mask]
        class_array = None if classes is None else _class_array(classes)
        prediction: np.ndarray
        if scorer.prediction_format == "value":
            prediction = np.zeros(len(y_part))
        elif scorer.prediction_format == "label":
            prediction = np.full(len(y_part), y_part[0], dtype=y_part.dtype)
        elif len(classes or ()) == 2:
            prediction = np.full(len(y_part), 0.5)
        else:
            k = len(classes or ())
            prediction = np.full((len(y_part), k), 1.0 / k)
        try:
            score = scorer.compute(y_part, prediction, class_array)
        except ValueError as exc:
            raise SolutionError(
                f"{scorer.name} cannot be computed on the {part} rows: {exc}"
            ) from None
        if not np.isfinite(score):
            raise SolutionError(
                f"{scorer.name} is not finite on the {part} rows; are the targets too large?"
            )


# --------------------------------------------------------------------------
# In-process cache

_cache: OrderedDict[tuple[str, str], Solution] = OrderedDict()
_cache_lock = threading.Lock()


def load_solution(path: str | os.PathLike[str], metric: str, sha256: str) -> Solution:
    """:func:`parse_solution` memoised by ``(sha256, metric)`` (small LRU).

    On a miss the file's digest is checked against ``sha256``, so a stale
    key can never serve another file's solution.
    """
    key = (sha256.lower(), metric)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != key[0]:
        raise SolutionError(
            f"solution file {os.fspath(path)!r} has sha256 {digest}, expected {sha256}"
        )
    solution = parse_solution(data, metric)
    with _cache_lock:
        _cache[key] = solution
        _cache.move_to_end(key)
        while len(_cache) > _SOLUTION_CACHE_SIZE:
            _cache.popitem(last=False)
    return solution


def clear_solution_cache() -> None:
    """Forget every memoised solution (tests; after a solution is replaced)."""
    with _cache_lock:
        _cache.clear()
