"""What the organizer console says about a challenge's data: rows and classes per file.

Public files: a CSV's data rows (and the classes of a ``label``/``target``
column), an IDX file's first dimension (and the classes of a label file),
an .npy array's first dimension. The solution: its rows, the public/private
split and the classes the metric sees, from the parsed solution the scorer
uses. Nothing here returns a row of the solution, only counts and class
names. A blob never changes under its sha256, so the answers are memoised.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from server.models import Challenge
from server.scoring.metrics import get_metric
from server.scoring.solution import SolutionError, load_solution
from server.storage import BlobStore

# Classes are listed up to this many; beyond, only their number.
MAX_CLASSES_SHOWN = 30
# A column holding classes, by name (the first one found).
LABEL_COLUMNS = ("label", "labels", "target", "class", "y")
# More distinct values than this in a label column: not classes.
MAX_CLASSES = 1000
IDX_MAGIC_PREFIX = b"\x00\x00"
GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 20
# Larger CSV files get their lines counted instead of being parsed.
MAX_PARSED_CSV_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Classes:
    count: int
    names: tuple[str, ...]

    def __str__(self) -> str:
        shown = ", ".join(self.names[:MAX_CLASSES_SHOWN])
        more = "" if self.count <= MAX_CLASSES_SHOWN else ", …"
        return f"{self.count}: {shown}{more}"


@dataclass(frozen=True)
class FileFacts:
    rows: int | None
    classes: Classes | None
    kind: str


@dataclass(frozen=True)
class SolutionFacts:
    sha256: str
    rows: int
    public_rows: int
    private_rows: int
    target: str
    classes: Classes | None


def _classes(values: Any) -> Classes | None:
    unique = sorted({str(v) for v in values}, key=lambda s: (len(s), s))
    if not unique or len(unique) > MAX_CLASSES:
        return None
    return Classes(len(unique), tuple(unique))


def _open(path: Path) -> BinaryIO:
    with open(path, "rb") as probe:
        compressed = probe.read(2) == GZIP_MAGIC
    if compressed:
        return cast(BinaryIO, gzip.open(path, "rb"))
    return open(path, "rb")


def _idx(path: Path) -> FileFacts | None:
    """An IDX file (MNIST's format), gzipped or not: its shape, and a label file's classes."""
    with _open(path) as source:
        header = source.read(4)
        if len(header) < 4 or header[:2] != IDX_MAGIC_PREFIX or not 1 <= header[3] <= 4:
            return None
        dims = source.read(4 * header[3])
        if len(dims) < 4 * header[3]:
            return None
        shape = [int.from_bytes(dims[i : i + 4], "big") for i in range(0, len(dims), 4)]
        classes = None
        if header[3] == 1 and header[2] == 0x08:  # one unsigned byte per row: labels
            classes = _classes(np.frombuffer(source.read(shape[0]), dtype=np.uint8).tolist())
    return FileFacts(shape[0], classes, "IDX " + "×".join(str(s) for s in shape))


def _count_lines(path: Path) -> int:
    lines = 0
    last = b"\n"
    with _open(path) as source:
        while chunk := source.read(CHUNK):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def _csv(path: Path) -> FileFacts | None:
    if path.stat().st_size > MAX_PARSED_CSV_BYTES:  # counted, not parsed
        return FileFacts(max(_count_lines(path) - 1, 0), None, "CSV")
    try:
        with _open(path) as source:
            table = pacsv.read_csv(source)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError):
        return None
    names = {name.lower(): name for name in table.column_names}
    label = next((names[c] for c in LABEL_COLUMNS if c in names), None)
    classes = None
    if label is not None:
        classes = _classes(table.column(label).unique().to_pylist())
    return FileFacts(table.num_rows, classes, f"CSV, {table.num_columns} columns")


def _npy(path: Path) -> FileFacts | None:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError):
        return None
    if not isinstance(array, np.ndarray) or array.ndim == 0:
        return None
    return FileFacts(int(array.shape[0]), None, f"array {tuple(array.shape)} {array.dtype}")


@lru_cache(maxsize=256)
def _facts(path: Path, name: str) -> FileFacts:
    lower = name.lower()
    readers = [_idx]
    if lower.endswith((".csv", ".csv.gz", ".tsv")):
        readers.insert(0, _csv)
    if lower.endswith(".npy"):
        readers.insert(0, _npy)
    for reader in readers:
        try:
            facts = reader(path)
        except (OSError, EOFError, ValueError):
            facts = None
        if facts is not None:
            return facts
    return FileFacts(None, None, "file")


def file_facts(store: BlobStore, sha256: str, name: str) -> FileFacts:
    """Rows and classes of a public file (memoised by content and name)."""
    return _facts(store.path_for(sha256), name)


def solution_facts(store: BlobStore, challenge: Challenge) -> SolutionFacts | None:
    """Counts and classes of the challenge's solution; never its rows."""
    sha256 = challenge.solution_sha256
    if sha256 is None:
        return None
    try:
        solution = load_solution(store.path_for(sha256), challenge.metric, sha256)
    except (SolutionError, OSError):
        return None
    classes = None
    if get_metric(challenge.metric).needs_classes and solution.classes is not None:
        classes = _classes(solution.classes)
    public = int(np.count_nonzero(solution.public_mask))
    return SolutionFacts(
        sha256=sha256,
        rows=len(solution.ids),
        public_rows=public,
        private_rows=len(solution.ids) - public,
        target=solution.target,
        classes=classes,
    )
