"""Reading a predictions CSV against a solution: the fast path and the checked one.

A valid file takes the fast path (pyarrow's multi-threaded reader with the
column types known in advance, vectorised checks, and a shortcut when the ids
come in the solution's or in sorted order). Anything unusual falls back to the
checked path, which re-reads every field as text and is the reference for what
is accepted. Messages of :class:`PredictionError` name rows of the team's file
and never anything hidden. Inside this module a label prediction is an array of
class codes. The public API is ``server.scoring.predictions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from server.scoring.csvread import (
    _EXAMPLES_SHOWN,
    _MAX_VALUE,
    _MAX_VALUE_TEXT,
    _check_utf8,
    _csv_field,
    _examples,
    _format_classes,
    _parse_floats,
    _parse_ints,
    _parse_labels,
    _read_header,
    _read_strings,
    _RowNames,
    _show,
    _shown_header,
    _trimmed,
)
from server.scoring.metrics import Metric
from server.scoring.table import Solution


class PredictionError(ValueError):
    """The submission is invalid; the message is shown to the participant."""


def _is_multiclass(solution: Solution, scorer: Metric) -> bool:
    return scorer.prediction_format == "probability" and len(solution.classes or ()) > 2


def _expected_columns(solution: Solution, scorer: Metric) -> list[str]:
    if _is_multiclass(solution, scorer):
        return [str(c) for c in solution.classes or ()]
    return [solution.target]


def _check_header(
    fields: list[str], header_text: str, solution: Solution, scorer: Metric
) -> list[int]:
    """File column of each expected value column (one per class when multi-class)."""
    expected = _expected_columns(solution, scorer)
    if not _is_multiclass(solution, scorer):
        if fields != ["id", *expected]:
            wanted = ",".join(_csv_field(name) for name in ["id", *expected])
            raise PredictionError(f"header must be {wanted!r}, got {_shown_header(header_text)}")
        return [1]
    columns = fields[1:]
    missing = [name for name in expected if name not in columns]
    unexpected = [name for name in columns if name not in expected]
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if fields[:1] != ["id"] or missing or unexpected or repeated:
        details = []
        if fields[:1] != ["id"]:
            details.append("the first column must be 'id'")
        for label, names in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("repeated", repeated),
        ):
            if names:
                shown = ", ".join(repr(n[:30]) for n in names[:_EXAMPLES_SHOWN])
                more = (
                    f" and {len(names) - _EXAMPLES_SHOWN} more"
                    if len(names) > _EXAMPLES_SHOWN
                    else ""
                )
                details.append(f"{label} columns: {shown}{more}")
        classes = _format_classes(solution.classes or [])
        raise PredictionError(
            f"header must be 'id' then one column per class ({classes}) in any order, "
            f"got {_shown_header(header_text)}: " + "; ".join(details)
        )
    # Offsets into ``columns``: a class may be named 'id' like the first column.
    return [1 + columns.index(name) for name in expected]


def _parse(data: bytes, solution: Solution, scorer: Metric) -> np.ndarray:
    fields, header_text, header_end = _read_header(data, PredictionError)
    columns = _check_header(fields, header_text, solution, scorer)
    aligned = _parse_fast(data, header_end, len(fields), columns, solution, scorer)
    if aligned is None:
        aligned = _parse_checked(data, fields, columns, solution, scorer)
    return aligned


def _value_type(solution: Solution, scorer: Metric) -> pa.DataType:
    if scorer.prediction_format != "label":
        return pa.float64()
    assert solution._class_array is not None
    return pa.int64() if solution._class_array.dtype.kind == "i" else pa.string()


def _parse_fast(
    data: bytes,
    header_end: int,
    field_count: int,
    columns: list[int],
    solution: Solution,
    scorer: Metric,
) -> np.ndarray | None:
    """Aligned predictions of a well-formed file, or None to take the checked path."""
    id_type = pa.int64() if solution.ids_are_integers else pa.string()
    value_type = _value_type(solution, scorer)
    # pyarrow's integer reader accepts hexadecimal ('0x1f'); the checked path does not.
    if pa.int64() in (id_type, value_type) and (
        data.find(b"x", header_end) >= 0 or data.find(b"X", header_end) >= 0
    ):
        return None
    names = [f"f{i}" for i in range(field_count)]
    types = {names[0]: id_type} | {names[c]: value_type for c in columns}
    try:
        table = pcsv.read_csv(
            pa.BufferReader(data),
            read_options=pcsv.ReadOptions(skip_rows=1, column_names=names),
            convert_options=pcsv.ConvertOptions(column_types=types, strings_can_be_null=False),
        )
    except pa.ArrowException:
        return None
    if table.num_rows != len(solution) or any(column.null_count for column in table.columns):
        return None

    values = _fast_values(table, columns, solution, scorer)
    if values is None:
        return None
    return _fast_align(table.column(0), values, solution)


def _fast_align(
    id_column: pa.ChunkedArray, values: np.ndarray, solution: Solution
) -> np.ndarray | None:
    """``values`` in solution order when the ids are a permutation of the solution's, else None."""
    ids: np.ndarray | pa.Array
    if solution.ids_are_integers:
        ids = id_column.to_numpy()
        if np.array_equal(ids, solution.ids):
            return values
        if solution._ids_in_sorted_order or not np.array_equal(ids, solution._sorted_ids):
            positions = solution._locate(ids)
        else:  # the order of the sample submission
            positions = solution._sort_order
    else:
        ids = _trimmed(id_column)
        if ids.equals(solution._ids_arrow):
            return values
        if ids.equals(solution._sorted_ids_arrow):
            positions = solution._sort_order
        else:
            positions = solution._locate(ids)
    if positions.min() < 0:
        return None
    # The row count equals the id count, so the ids are a permutation exactly
    # when no slot keeps the sentinel (codes are >= 0, values are finite).
    sentinel = -1 if values.dtype.kind == "i" else np.nan
    aligned = np.full(values.shape, sentinel, dtype=values.dtype)
    aligned[positions] = values
    first_column = aligned if aligned.ndim == 1 else aligned[:, 0]
    unfilled = (first_column < 0) if values.dtype.kind == "i" else np.isnan(first_column)
    return None if unfilled.any() else aligned


def _fast_values(
    table: pa.Table, columns: list[int], solution: Solution, scorer: Metric
) -> np.ndarray | None:
    if scorer.prediction_format == "label":
        column = table.column(columns[0])
        labels = column.to_numpy() if pa.types.is_integer(column.type) else _trimmed(column)
        codes, known = solution._encode_labels(labels)
        return codes if known.all() else None
    if len(columns) == 1:
        values = table.column(columns[0]).to_numpy()
    else:
        values = np.column_stack([table.column(c).to_numpy() for c in columns])
    low, high = (
        (0.0, 1.0) if scorer.prediction_format == "probability" else (-_MAX_VALUE, _MAX_VALUE)
    )
    if not (values.min() >= low and values.max() <= high):  # False with NaN too
        return None
    if values.ndim == 2 and (values.sum(axis=1) == 0).any():  # multi-class probabilities
        return None
    return values


def _parse_checked(
    data: bytes, fields: list[str], columns: list[int], solution: Solution, scorer: Metric
) -> np.ndarray:
    """The reference parser: every field as text, every problem reported by line."""
    _check_utf8(data, PredictionError)
    table = _read_strings(data, fields, PredictionError)
    row_count = table.num_rows
    n = len(solution)
    if row_count == 0:
        raise PredictionError(
            f"the file has a header but no rows; expected one row per id ({n} rows)"
        )
    rows = _RowNames(data, row_count)
    problems: list[str] = []

    id_strings = _trimmed(table.column(0))
    id_ok = np.ones(row_count, dtype=bool)
    id_values: np.ndarray | None = None
    if solution.ids_are_integers:
        id_values, id_ok = _parse_ints(id_strings)
        bad_ids = np.flatnonzero(~id_ok)
        if len(bad_ids):
            shown = rows.describe(bad_ids, id_strings.to_numpy(zero_copy_only=False))
            problems.append(f"ids must be integers: {shown}")
        positions = np.full(row_count, -1, dtype=np.int64)
        positions[id_ok] = solution._locate(id_values[id_ok])
    else:
        positions = solution._locate(id_strings)

    values, value_problems = _checked_values(table, columns, solution, scorer, rows)
    problems += value_problems

    def shown_id(row: int) -> str:
        return _show(id_values[row] if id_values is not None else id_strings[row].as_py())

    problems += _id_problems(positions, id_ok, solution, rows, shown_id)
    if problems:
        raise PredictionError("; ".join(problems))
    aligned = np.empty((n, *values.shape[1:]), dtype=values.dtype)
    aligned[positions] = values
    return aligned


def _counted(count: int, noun: str, plural: str, items: Sequence[str]) -> str:
    """'1 id missing: 17' or '3 ids missing, e.g. 17, 204, 9981'."""
    if count == 1:
        return f"1 {noun}: {items[0]}"
    return f"{count} {plural}, e.g. {', '.join(items)}"


def _id_problems(
    positions: np.ndarray, id_ok: np.ndarray, solution: Solution, rows: _RowNames, shown_id: Any
) -> list[str]:
    problems = []
    known = positions >= 0
    unknown_rows = np.flatnonzero(id_ok & ~known)
    if len(unknown_rows):
        items = [
            f"{shown_id(int(r))} ({rows.line(int(r))})" for r in unknown_rows[:_EXAMPLES_SHOWN]
        ]
        problems.append(_counted(len(unknown_rows), "unknown id", "unknown ids", items))

    counts = np.bincount(positions[known], minlength=len(solution))
    repeated_rows = np.flatnonzero(known & (counts[np.where(known, positions, 0)] > 1))
    if len(repeated_rows):
        repeated_positions, first_rows = np.unique(positions[repeated_rows], return_index=True)
        items = []
        for position in repeated_positions[np.argsort(first_rows)][:_EXAMPLES_SHOWN]:
            same = repeated_rows[positions[repeated_rows] == position]
            items.append(
                f"{_show(solution.ids[position])} ({rows.numbers([int(r) for r in same])})"
            )
        problems.append(_counted(len(repeated_positions), "duplicate id", "duplicate ids", items))

    # Listed in id order: the solution's row order could hint at the public/private split.
    missing_sorted = np.flatnonzero(counts[solution._sort_order] == 0)
    if len(missing_sorted):
        items = [_show(solution._sorted_ids[i]) for i in missing_sorted[:_EXAMPLES_SHOWN]]
        problems.append(_counted(len(missing_sorted), "id missing", "ids missing", items))
    return problems


def _labels_message(
    solution: Solution, labels: Sequence[str], places: Sequence[str], count: int
) -> str:
    """'label 11 is not one of the classes 0..9 (line 4)' or the count and examples."""
    classes = _format_classes(solution.classes or [])
    if count == 1:
        return f"label {labels[0]} is not one of the classes {classes} ({places[0]})"
    items = [f"{label} ({place})" for label, place in zip(labels, places, strict=True)]
    return f"{count} labels are not among the classes {classes}: {_examples(items, count)}"


def _checked_values(
    table: pa.Table, columns: list[int], solution: Solution, scorer: Metric, rows: _RowNames
) -> tuple[np.ndarray, list[str]]:
    if scorer.prediction_format == "label":
        strings = _trimmed(table.column(columns[0]))
        assert solution._class_array is not None
        labels, parsable = _parse_labels(strings, solution._class_array.dtype.kind == "i")
        codes, known = solution._encode_labels(labels)
        bad = np.flatnonzero(~(known & parsable))
        if not len(bad):
            return codes, []
        raw = strings.to_numpy(zero_copy_only=False)
        labels = [_show(raw[r]) for r in bad[:_EXAMPLES_SHOWN]]
        places = [rows.line(int(r)) for r in bad[:_EXAMPLES_SHOWN]]
        return codes, [_labels_message(solution, labels, places, len(bad))]

    probability = scorer.prediction_format == "probability"
    parsed, valid_masks, texts = [], [], []
    for column in columns:
        strings = _trimmed(table.column(column))
        values, valid = _parse_floats(strings)
        if probability:
            valid &= (values >= 0) & (values <= 1)
        parsed.append(values)
        valid_masks.append(valid)
        texts.append(strings)
    values = parsed[0] if len(parsed) == 1 else np.column_stack(parsed)
    bad_rows = np.flatnonzero(~np.logical_and.reduce(valid_masks))
    if len(bad_rows):
        items = []
        for row in bad_rows[:_EXAMPLES_SHOWN]:
            j = next(j for j, valid in enumerate(valid_masks) if not valid[row])
            text = _show(texts[j][int(row)].as_py())
            if len(columns) > 1:
                text += f" in column {str((solution.classes or [])[j])!r}"
            items.append(f"{rows.line(int(row))} ({text})")
        what = (
            "probabilities must be numbers between 0 and 1"
            if probability
            else f"values must be numbers between -{_MAX_VALUE_TEXT} and {_MAX_VALUE_TEXT}"
        )
        return values, [f"{what}: {_examples(items, len(bad_rows))}"]
    if values.ndim == 2:
        zero_rows = np.flatnonzero(values.sum(axis=1) == 0)
        if len(zero_rows):
            return values, [f"probabilities on a row must not all be 0: {rows.describe(zero_rows)}"]
    return values, []
