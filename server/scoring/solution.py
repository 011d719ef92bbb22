"""The hidden solution: parsing, validation and the lookup structures scoring needs.

A solution is a CSV ``id,<target>,usage`` (Kaggle's convention). Parsing is
strict and every error names what to fix, because it is shown to the
organizer who uploaded the file. The parsed :class:`Solution` precomputes
everything that does not depend on a submission (class codes, the public and
private row indices, an id index), so scoring a submission only pays for the
submission; :func:`load_solution` keeps a few parsed solutions in memory.

The private helpers for reading CSV bytes and phrasing errors live here too;
``predictions`` uses them with its own error class.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from server.scoring.metrics import Metric, get_metric

__all__ = ["Solution", "SolutionError", "load_solution", "parse_solution"]

Source = str | os.PathLike[str] | bytes | bytearray | memoryview


class SolutionError(ValueError):
    """The solution file is unusable; the message tells the organizer what to fix."""


# How many offending rows an error message names before it counts the rest:
# "line 4 ('pubic'), line 9 ('') and 12 more"; lists that lead with the count
# ("3 ids missing, e.g. 17, 204, 9981") show a few more.
_LISTED = 2
_EXAMPLES_SHOWN = 3
# Longest stretch of a user's value quoted back in a message.
_SHOWN_VALUE_CHARS = 30
# Real values beyond this magnitude are refused: squared errors over a million
# rows must stay finite in float64.
_MAX_VALUE = 1e100
_MAX_VALUE_TEXT = "1e100"
# Integers of at most this many digits always fit in int64.
_SAFE_INT_DIGITS = 18
# An id index becomes a dense lookup table when the id range is at most this
# many times the number of ids (e.g. ids 0..n-1, the common case).
_DENSE_ID_RANGE_FACTOR = 4
_SOLUTION_CACHE_SIZE = 8

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_INT_PATTERN = r"^[+-]?[0-9]+$"
_FLOAT_PATTERN = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_NUMBER_RE = re.compile(r"[+-]?[0-9]{1,20}(\.[0-9]{0,20})?([eE][+-]?[0-9]{1,4})?")


# --------------------------------------------------------------------------
# The parsed solution


@dataclass(frozen=True, eq=False)
class Solution:
    """A validated solution, immutable and shared between requests.

    ``ids`` keep the file order; ``y`` and ``public_mask`` are aligned with
    them. ``classes`` (sorted) is set for label and probability metrics.
    Arrays are read-only.
    """

    target: str
    ids: np.ndarray
    y: np.ndarray
    public_mask: np.ndarray
    classes: list[Any] | None

    # Derived lookup structures, computed once in __post_init__.
    _ids_arrow: pa.Array | None = field(init=False, repr=False)
    _sorted_ids_arrow: pa.Array | None = field(init=False, repr=False)
    _sort_order: np.ndarray = field(init=False, repr=False)
    _sorted_ids: np.ndarray = field(init=False, repr=False)
    _ids_in_sorted_order: bool = field(init=False, repr=False)
    _dense_table: np.ndarray | None = field(init=False, repr=False)
    _dense_offset: int = field(init=False, repr=False)
    _class_array: np.ndarray | None = field(init=False, repr=False)
    _public_index: np.ndarray = field(init=False, repr=False)
    _private_index: np.ndarray = field(init=False, repr=False)
    _y_public: np.ndarray = field(init=False, repr=False)
    _y_private: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("ids", "y", "public_mask"):
            object.__setattr__(self, name, np.asarray(getattr(self, name)))
        derived: dict[str, Any] = {}
        ids = self.ids
        n = len(ids)
        if ids.dtype.kind in "iu":
            derived |= {"_ids_arrow": None, "_sorted_ids_arrow": None}
            order = np.argsort(ids, kind="stable")
            sorted_ids = ids[order]
            dense_table = None
            offset = 0
            if n:
                offset = int(sorted_ids[0])
                span = int(sorted_ids[-1]) - offset + 1
                if span <= _DENSE_ID_RANGE_FACTOR * n + 1024:
                    dense_table = np.full(span, -1, dtype=np.int64)
                    dense_table[ids - offset] = np.arange(n, dtype=np.int64)
            derived |= {"_dense_table": dense_table, "_dense_offset": offset}
        else:
            ids_arrow = pa.array(ids, type=pa.string())
            order = np.asarray(pc.sort_indices(ids_arrow), dtype=np.int64)
            sorted_ids = ids[order]
            derived |= {
                "_ids_arrow": ids_arrow,
                "_sorted_ids_arrow": ids_arrow.take(pa.array(order)),
                "_dense_table": None,
                "_dense_offset": 0,
            }
        derived |= {
            "_sort_order": order,
            "_sorted_ids": sorted_ids,
            "_ids_in_sorted_order": bool(np.array_equal(order, np.arange(n))),
        }

        if self.classes is not None:
            class_array = _class_array(self.classes)
            codes, known = _encode(class_array, self.y)
            if not known.all():
                raise SolutionError("some targets are not among the classes")
            y_scored = codes
        else:
            class_array = None
            y_scored = np.asarray(self.y, dtype=np.float64)
        public_index = np.flatnonzero(self.public_mask)
        private_index = np.flatnonzero(~np.asarray(self.public_mask, dtype=bool))
        derived |= {
            "_class_array": class_array,
            "_public_index": public_index,
            "_private_index": private_index,
            "_y_public": y_scored[public_index],
            "_y_private": y_scored[private_index],
        }
        for name, value in derived.items():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(self, name, value)
        for array in (self.ids, self.y, self.public_mask):
            array.setflags(write=False)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def public_count(self) -> int:
        """Number of rows scored on the public leaderboard."""
        return len(self._public_index)

    @property
    def private_count(self) -> int:
        """Number of rows scored on the private leaderboard."""
        return len(self._private_index)

    @property
    def ids_are_integers(self) -> bool:
        return self.ids.dtype.kind in "iu"

    def _locate(self, other_ids: np.ndarray | pa.Array) -> np.ndarray:
        """Position of each of ``other_ids`` in ``ids`` (int64), -1 where unknown."""
        if self._ids_arrow is not None:
            positions = pc.index_in(other_ids, value_set=self._ids_arrow)
            return np.asarray(positions.fill_null(-1), dtype=np.int64)
        other = np.asarray(other_ids, dtype=np.int64)
        if self._dense_table is not None:
            table = self._dense_table
            offsets = other - self._dense_offset
            if len(offsets) and offsets.min() >= 0 and offsets.max() < len(table):
                return table[offsets]
            inside = (offsets >= 0) & (offsets < len(table))
            positions = table[np.where(inside, offsets, 0)]
            return np.where(inside, positions, -1)
        sorted_ids = self._sorted_ids
        slots = np.searchsorted(sorted_ids, other)
        slots = np.minimum(slots, len(sorted_ids) - 1)
        found = sorted_ids[slots] == other
        return np.where(found, self._sort_order[slots], -1)

    def _encode_labels(self, labels: np.ndarray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """Class codes of ``labels`` and a mask of those that are known classes."""
        assert self._class_array is not None, "value metrics have no classes"
        return _encode(self._class_array, labels)


def _class_array(classes: Sequence[Any]) -> np.ndarray:
    if all(isinstance(c, (int, np.integer)) for c in classes):
        return np.asarray(classes, dtype=np.int64)
    return np.asarray([str(c) for c in classes], dtype=object)


def _code_dtype(class_count: int) -> type[np.signedinteger[Any]]:
    # Small codes make sklearn's label checks (np.unique) several times faster.
    if class_count <= np.iinfo(np.int8).max:
        return np.int8
    if class_count <= np.iinfo(np.int16).max:
        return np.int16
    return np.int32


def _encode(class_array: np.ndarray, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Map labels to positions in the sorted ``class_array``; also return the known mask."""
    k = len(class_array)
    dtype = _code_dtype(k)
    if class_array.dtype.kind == "i":
        values = np.asarray(labels)
        parsable = None
        if values.dtype.kind == "f":
            values, parsable = _integral_floats(values)
        elif values.dtype.kind not in "iu":
            return np.zeros(len(values), dtype=dtype), np.zeros(len(values), dtype=bool)
        values = values.astype(np.int64, copy=False)
        codes, known = _encode_integers(class_array, values, dtype)
        return codes, known if parsable is None else known & parsable
    if isinstance(labels, (pa.Array, pa.ChunkedArray)):
        strings = labels
    else:
        strings = pa.array(np.asarray(labels, dtype=object), type=pa.string(), from_pandas=False)
    codes = pc.index_in(strings, value_set=pa.array(class_array, type=pa.string()))
    known = np.asarray(codes.is_valid(), dtype=bool)
    return np.asarray(codes.fill_null(0), dtype=np.int64).astype(dtype), known


def _encode_integers(
    class_array: np.ndarray, values: np.ndarray, dtype: type
) -> tuple[np.ndarray, np.ndarray]:
    k = len(class_array)
    low = int(class_array[0])
    if int(class_array[-1]) - low == k - 1:  # contiguous classes, e.g. 0..9
        offsets = values - low
        known = (offsets >= 0) & (offsets < k)
        return np.where(known, offsets, 0).astype(dtype), known
    slots = np.minimum(np.searchsorted(class_array, values), k - 1)
    known = class_array[slots] == values
    return slots.astype(dtype), known


# --------------------------------------------------------------------------
# CSV helpers shared with predictions


def _read_source(source: Source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    return Path(source).read_bytes()


def _show(value: Any) -> str:
    """A user's value for a message: numbers as they are, text quoted, shortened and escaped."""
    if isinstance(value, (int, np.integer)):
        return str(value)
    text = str(value)
    if _NUMBER_RE.fullmatch(text):
        return text
    if len(text) > _SHOWN_VALUE_CHARS:
        text = text[:_SHOWN_VALUE_CHARS] + "…"
    return repr(text)


def _examples(items: Sequence[str], total: int, listed: int = _LISTED) -> str:
    """'a and b' or 'a, b and 12 more' for ``total`` offending things."""
    shown = list(items[:listed])
    rest = total - len(shown)
    if rest > 0:
        return ", ".join(shown) + f" and {rest} more"
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\r\n') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def _read_header(data: bytes, error: type[ValueError]) -> tuple[list[str], str, int]:
    """Fields of the first line (trimmed), its text (for messages) and where it ends."""
    if data.startswith(_UTF16_BOMS):
        raise error("the file is UTF-16 encoded; save it as UTF-8 CSV")
    start = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    ends = [pos for pos in (data.find(b"\n", start), data.find(b"\r", start)) if pos >= 0]
    end = min(ends) if ends else len(data)
    raw = data[start:end]
    if not raw.strip() and not data[end:].strip():
        raise error("the file is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error("the file is not UTF-8 text (line 1); save it as UTF-8 CSV") from None
    try:
        fields = next(csv.reader([text]), [])
    except csv.Error:
        fields = [text]
    return [f.strip() for f in fields], text, end


def _shown_header(text: str) -> str:
    if len(text) > 100:
        text = text[:100] + "…"
    return repr(text)


def _check_utf8(data: bytes, error: type[ValueError]) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"the file is not UTF-8 text (line {line}); save it as UTF-8 CSV") from None


def _scan_rows(data: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """Line number (1-based) and field count of every non-empty line after the first.

    Agrees with pyarrow's row splitting: ``\\n``, ``\\r\\n`` and ``\\r`` end a
    line, empty lines are skipped. Error path only.
    """
    if b'"' not in data:
        text = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        chars = np.frombuffer(text, dtype=np.uint8)
        newlines = np.flatnonzero(chars == ord("\n"))
        starts = np.concatenate(([0], newlines + 1))
        ends = np.concatenate((newlines, [len(chars)]))
        commas = np.concatenate(([0], np.cumsum(chars == ord(","), dtype=np.int64)))
        fields = commas[ends] - commas[starts] + 1
        line_numbers = np.arange(1, len(starts) + 1)
        keep = (ends > starts) & (line_numbers > 1)
        return line_numbers[keep], fields[keep]
    lines: list[int] = []
    counts: list[int] = []
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
    previous_end = 0
    try:
        for record in reader:
            first_line = previous_end + 1
            previous_end = reader.line_num
            if record and first_line > 1:
                lines.append(first_line)
                counts.append(len(record))
    except csv.Error:
        return None
    return np.asarray(lines, dtype=np.int64), np.asarray(counts, dtype=np.int64)


def _read_strings(data: bytes, field_names: Sequence[str], error: type[ValueError]) -> pa.Table:
    """Every field after the header as a string; ragged rows are reported by line."""
    names = [f"f{i}" for i in range(len(field_names))]
    first_newline = min(
        (p for p in (data.find(b"\n"), data.find(b"\r")) if p >= 0), default=len(data)
    )
    if not data[first_newline:].strip():  # pyarrow cannot skip the header of a header-only file
        return pa.table({name: pa.array([], pa.string()) for name in names})
    try:
        return pcsv.read_csv(
            pa.BufferReader(data),
            read_options=pcsv.ReadOptions(skip_rows=1, column_names=names),
            convert_options=pcsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowException as exc:
        scanned = _scan_rows(data)
        if scanned is not None:
            lines, counts = scanned
            ragged = np.flatnonzero(counts != len(names))
            if len(ragged):
                items = [f"line {lines[i]} has {counts[i]}" for i in ragged[:_EXAMPLES_SHOWN]]
                raise error(
                    f"every row must have {len(names)} fields like the header "
                    f"({','.join(field_names)}): {_examples(items, len(ragged))}"
                ) from None
        raise error(f"the file could not be read as CSV: {str(exc)[:200]}") from None


class _RowNames:
    """Names rows in messages by line number ('line 7'), computed only when needed."""

    def __init__(self, data: bytes, row_count: int) -> None:
        self._data = data
        self._row_count = row_count
        self._lines: np.ndarray | None = None
        self._resolved = False

    def line(self, row: int) -> str:
        if not self._resolved:
            scanned = _scan_rows(self._data)
            if scanned is not None and len(scanned[0]) == self._row_count:
                self._lines = scanned[0]
            self._resolved = True
        if self._lines is None:  # pragma: no cover - quoted fields spanning lines
            return f"data row {row + 1}"
        return f"line {self._lines[row]}"

    def numbers(self, rows: Sequence[int]) -> str:
        """'lines 7 and 8' for several rows of one id."""
        names = [self.line(r) for r in rows[:_EXAMPLES_SHOWN]]
        if all(name.startswith("line ") for name in names):
            numbers = [name.removeprefix("line ") for name in names]
            return "lines " + _examples(numbers, len(rows), _EXAMPLES_SHOWN)
        return _examples(names, len(rows), _EXAMPLES_SHOWN)

    def describe(self, rows: np.ndarray, values: Any = None) -> str:
        """'line 4 ('pubic'), line 9 ('') and 12 more' for the offending ``rows``."""
        items = []
        for row in rows[:_EXAMPLES_SHOWN]:
            item = self.line(int(row))
            if values is not None:
                item += f" ({_show(values[int(row)])})"
            items.append(item)
        return _examples(items, len(rows))


def _trimmed(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return pc.utf8_trim_whitespace(column)


def _mask(array: pa.Array) -> np.ndarray:
    return np.asarray(array.fill_null(False), dtype=bool)


def _parse_ints(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Parse trimmed strings as int64; returns values (0 where invalid) and the valid mask."""
    integer_like = _mask(pc.match_substring_regex(strings, _INT_PATTERN))
    digits = np.asarray(pc.utf8_length(pc.utf8_ltrim(strings, characters="+-")), dtype=np.int64)
    short = integer_like & (digits <= _SAFE_INT_DIGITS)
    unsigned = pc.utf8_ltrim(strings, characters="+")
    values = np.asarray(
        pc.cast(pc.if_else(pa.array(short), unsigned, "0"), pa.int64()), dtype=np.int64
    ).copy()
    valid = short.copy()
    long_rows = np.flatnonzero(integer_like & ~short)  # 19+ digits, or leading zeros
    if len(long_rows):
        long_strings = unsigned.take(pa.array(long_rows))
        try:
            values[long_rows] = np.asarray(pc.cast(long_strings, pa.int64()), dtype=np.int64)
            valid[long_rows] = True
        except pa.ArrowInvalid:  # some overflow int64: find which, one by one
            for row, text in zip(long_rows, long_strings.to_pylist(), strict=True):
                number = int(text)
                if -(2**63) <= number < 2**63:
                    values[row], valid[row] = number, True
    return values, valid


def _parse_floats(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Parse trimmed strings as float64 within ±_MAX_VALUE: values and the valid mask."""
    numeric = pc.match_substring_regex(strings, _FLOAT_PATTERN).fill_null(False)
    values = np.asarray(
        pc.cast(pc.if_else(numeric, strings, "nan"), pa.float64()), dtype=np.float64
    )
    return values, np.abs(values) <= _MAX_VALUE  # False for NaN


def _integral_floats(floats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int64 values of the floats that are exact integers (like 3.0), and their mask."""
    safe = np.where(np.isfinite(floats) & (np.abs(floats) < 2.0**53), floats, 0.5)
    integral = np.floor(safe) == safe
    return np.where(integral, safe, 0.0).astype(np.int64), integral


def _parse_labels(
    strings: pa.Array, integer_classes: bool
) -> tuple[np.ndarray | pa.Array, np.ndarray]:
    """Labels as int64 (integral numbers like '3' or '3.0') or strings; and the parsable mask."""
    if not integer_classes:
        return strings, np.ones(len(strings), dtype=bool)
    values, valid = _parse_ints(strings)
    if not valid.all():
        floats, _ = _parse_floats(strings)
        integers, integral = _integral_floats(floats)
        values = np.where(valid, values, integers)
        valid = valid | integral
    return values, valid


def _format_classes(classes: Sequence[Any]) -> str:
    if (
        len(classes) > 2
        and all(isinstance(c, int) for c in classes)
        and classes[-1] - classes[0] == len(classes) - 1
    ):
        return f"{classes[0]}..{classes[-1]}"
    shown = ", ".join(_show(c) for c in classes[:10])
    if len(classes) > 10:
        shown += f", … ({len(classes)} classes)"
    return shown


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
