"""A challenge's data: IDX files into tensors, mini-batches, a validation split.

An image challenge on Podium publishes its files under the names that
torchvision's MNIST reader uses (``podium download mnist`` puts them in
``data/mnist/``)::

    train-images-idx3-ubyte.gz   training images, uint8 (N, 28, 28)
    train-labels-idx1-ubyte.gz   their labels, 0-9
    t10k-images-idx3-ubyte.gz    test images; row i has id i, from 0
    sample_submission.csv        id,label

The test labels stay on the server: that is what the leaderboard scores.
(The demo copy in ``server/demo/mnist/`` also ships them, for benchmarks.)
A challenge that takes model checkpoints may keep its test images hidden
too (docs/checkpoints.md): then there is no ``t10k-images`` file, and a
team trains on the training files and submits its checkpoint.

IDX is a tiny binary format: a 4-byte magic number (two zero bytes, a
type code, the number of dimensions), one big-endian uint32 per dimension,
then the values. Images are read as uint8 and become floats in [0, 1] only
when a batch is served, which keeps MNIST's training set at 47 MB in memory.

The whole training set fits in memory, so :class:`Batches` cuts each
mini-batch out of the tensors with one indexing operation. A ``DataLoader``
over a ``Dataset`` calls ``__getitem__`` once per image and stacks the
results: a quarter of the neuron's training time here.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Iterator
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"  # hidden in a real challenge
SAMPLE_SUBMISSION = "sample_submission.csv"

GZIP_MAGIC = b"\x1f\x8b"
IDX_HEADER_BYTES = 4
IDX_DIM_BYTES = 4
# IDX type code -> numpy dtype (multi-byte values are big-endian).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
PIXEL_MAX = 255  # uint8 pixels: 0 (black) to 255 (white)

StrPath = str | PathLike[str]


def read_idx(path: StrPath) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not, into a numpy array."""
    raw = Path(path).read_bytes()
    if raw[:2] == GZIP_MAGIC:
        raw = gzip.decompress(raw)
    if len(raw) < IDX_HEADER_BYTES or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    dtype, ndim = IDX_DTYPES[raw[2]], raw[3]
    data_start = IDX_HEADER_BYTES + IDX_DIM_BYTES * ndim
    if len(raw) < data_start:
        raise ValueError(f"{path}: IDX header is truncated")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=IDX_HEADER_BYTES))
    expected_bytes = math.prod(shape) * dtype.itemsize
    if len(raw) - data_start != expected_bytes:
        raise ValueError(
            f"{path}: IDX header announces {shape} ({expected_bytes} bytes of data), "
            f"the file has {len(raw) - data_start}"
        )
    values = np.frombuffer(raw, dtype, count=math.prod(shape), offset=data_start)
    # astype copies into native byte order, and gives a writable array for torch.
    return values.reshape(shape).astype(dtype.newbyteorder("="))


def read_images(path: StrPath) -> torch.Tensor:
    """IDX images (N, H, W) -> uint8 tensor (N, 1, H, W): one grey channel."""
    images = read_idx(path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{path}: expected uint8 images (N, H, W), got {images.dtype} {images.shape}"
        )
    return torch.from_numpy(images).unsqueeze(1)


def read_labels(path: StrPath) -> torch.Tensor:
    """IDX labels (N,) -> int64 tensor, the dtype that the loss functions expect."""
    labels = read_idx(path)
    if labels.ndim != 1:
        raise ValueError(f"{path}: expected labels (N,), got shape {labels.shape}")
    return torch.from_numpy(labels).long()


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> float32 in [0, 1], the input every model expects."""
    return images.float() / PIXEL_MAX


@dataclass
class ChallengeData:
    """The tensors of one image challenge."""

    train_images: torch.Tensor  # uint8 (N, 1, H, W)
    train_labels: torch.Tensor  # int64 (N,)
    test_images: torch.Tensor | None  # uint8 (M, 1, H, W), row i has id i; None: hidden
    test_labels: torch.Tensor | None = None  # only where they ship (the demo copy)


def _find(directory: Path, name: str) -> Path | None:
    """``name`` in ``directory``, or its decompressed twin (without ``.gz``)."""
    for candidate in (directory / name, directory / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def load_challenge_dir(path: StrPath) -> ChallengeData:
    """Load the train images and labels, and the test images, of a challenge directory.

    The test images are ``None`` when the challenge keeps them hidden (it then
    scores checkpoints only). The test labels are loaded when the directory
    has them (the demo copy in ``server/demo/mnist`` does; a downloaded
    challenge does not).
    """
    directory = Path(path)
    found: dict[str, Path] = {}
    for name in (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS):
        if (file := _find(directory, name)) is not None:
            found[name] = file
    missing = [name for name in (TRAIN_IMAGES, TRAIN_LABELS) if name not in found]
    if missing:
        raise FileNotFoundError(
            f"{directory} is not a challenge directory: missing {', '.join(missing)} "
            "(download one with `podium download SLUG`)"
        )
    data = ChallengeData(
        train_images=read_images(found[TRAIN_IMAGES]),
        train_labels=read_labels(found[TRAIN_LABELS]),
        test_images=read_images(found[TEST_IMAGES]) if TEST_IMAGES in found else None,
    )
    if TEST_LABELS in found:
        data.test_labels = read_labels(found[TEST_LABELS])
    if len(data.train_images) != len(data.train_labels):
        raise ValueError(
            f"{directory}: {len(data.train_images)} training images but "
            f"{len(data.train_labels)} labels"
        )
    if data.test_images is not None and data.train_images.shape[1:] != data.test_images.shape[1:]:
        raise ValueError(
            f"{directory}: training images are {tuple(data.train_images.shape[1:])}, "
            f"test images {tuple(data.test_images.shape[1:])}"
        )
    return data


class ImageDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Labelled uint8 images; item i is (float image in [0, 1], label), as for a ``DataLoader``."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return to_float(self.images[index]), self.labels[index]


def split_validation(
    images: torch.Tensor, labels: torch.Tensor, validation_size: int, seed: int
) -> tuple[ImageDataset, ImageDataset | None]:
    """Hold out ``validation_size`` random images, chosen by ``seed``.

    The validation split is how we estimate the accuracy on unseen images
    while we choose hyper-parameters; the test set is kept for the end (on
    Podium, the leaderboard). ``validation_size=0`` trains on everything and
    returns no validation set.
    """
    if not 0 <= validation_size < len(labels):
        raise ValueError(
            f"validation size must be between 0 and {len(labels) - 1} "
            f"(the number of training images minus one), got {validation_size}"
        )
    # A generator of its own, so the split depends on the seed only, not on
    # what else has drawn random numbers before.
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    train_index, validation_index = order[validation_size:], order[:validation_size]
    train = ImageDataset(images[train_index], labels[train_index])
    if validation_size == 0:
        return train, None
    return train, ImageDataset(images[validation_index], labels[validation_index])


class Batches:
    """The mini-batches of one pass over ``dataset``: (float images in [0, 1], labels).

    What ``DataLoader(dataset, batch_size, shuffle, generator)`` gives, cut from
    the tensors in memory one batch at a time instead of one image at a time.
    With ``shuffle``, each pass draws a new order from ``generator``.
    """

    def __init__(
        self,
        dataset: ImageDataset,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self) -> int:
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        count = len(self.dataset)
        order = torch.randperm(count, generator=self.generator) if self.shuffle else None
        for start in range(0, count, self.batch_size):
            if order is None:
                rows: slice | torch.Tensor = slice(start, start + self.batch_size)
            else:
                rows = order[start : start + self.batch_size]
            yield to_float(self.dataset.images[rows]), self.dataset.labels[rows]
