"""The parsed solution: immutable arrays and the lookup structures scoring needs.

:class:`Solution` precomputes everything that does not depend on a submission
(class codes, the public and private row indices, an id index), so scoring a
submission only pays for the submission. Parsing lives in
``server.scoring.solution``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from server.scoring.csvread import _integral_floats


class SolutionError(ValueError):
    """The solution file is unusable; the message tells the organizer what to fix."""


# An id index becomes a dense lookup table when the id range is at most this
# many times the number of ids (e.g. ids 0..n-1, the common case).
_DENSE_ID_RANGE_FACTOR = 4


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
