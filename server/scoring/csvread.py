"""The CSV reader shared by the solution and the predictions parsers (and so by
validation at upload and by scoring): bytes in, checked columns out, and the
phrasing of every error so that it names what to fix.

Private to ``server.scoring``: the helpers take the error class to raise
(``SolutionError`` for organizers, ``PredictionError`` for teams).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

Source = str | os.PathLike[str] | bytes | bytearray | memoryview


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


_UTF8_BOM = b"\xef\xbb\xbf"


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


_INT_PATTERN = r"^[+-]?[0-9]+$"


_FLOAT_PATTERN = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"


_NUMBER_RE = re.compile(r"[+-]?[0-9]{1,20}(\.[0-9]{0,20})?([eE][+-]?[0-9]{1,4})?")


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
