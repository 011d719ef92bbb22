"""Reading challenge directories: IDX files, the shipped MNIST, the validation split."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from baselines.data import (
    TEST_IMAGES,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    Batches,
    ChallengeData,
    ImageDataset,
    load_challenge_dir,
    read_idx,
    split_validation,
)
from tests.baselines.conftest import DEMO_MNIST, SMALL_TRAIN_IMAGES, write_idx


def test_the_shipped_mnist_is_the_real_one(mnist: ChallengeData) -> None:
    assert mnist.train_images.shape == (60_000, 1, 28, 28)
    assert mnist.train_images.dtype == torch.uint8
    assert mnist.train_labels.shape == (60_000,) and mnist.train_labels.dtype == torch.int64
    assert mnist.test_images is not None and mnist.test_images.shape == (10_000, 1, 28, 28)
    assert mnist.test_labels is not None and mnist.test_labels.shape == (10_000,)
    assert mnist.train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert sorted(mnist.train_labels.unique().tolist()) == list(range(10))


def test_the_shipped_files_match_the_sums_in_their_readme() -> None:
    readme = (DEMO_MNIST / "README.md").read_text()
    sums = dict(
        (name, digest)
        for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+\.gz)$", readme, re.MULTILINE)
    )
    assert len(sums) == 4
    for name, digest in sums.items():
        assert hashlib.sha256((DEMO_MNIST / name).read_bytes()).hexdigest() == digest, name
    assert "LeCun" in readme and "CC BY-SA 3.0" in readme


def test_a_downloaded_challenge_has_no_test_labels(challenge_dir: Path) -> None:
    data = load_challenge_dir(challenge_dir)
    assert data.train_images.shape == (SMALL_TRAIN_IMAGES, 1, 28, 28)
    assert data.test_images is not None and data.test_images.shape == (10_000, 1, 28, 28)
    assert data.test_labels is None


@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_with_or_without_gzip(tmp_path: Path, compress: bool) -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / "images", array, compress=compress)
    np.testing.assert_array_equal(read_idx(path), array)


def test_a_decompressed_challenge_directory_loads(tmp_path: Path, small: ChallengeData) -> None:
    images, labels = small.train_images[:10], small.train_labels[:10]
    write_idx(tmp_path / "train-images-idx3-ubyte", images.squeeze(1).numpy(), compress=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels.numpy().astype(np.uint8))
    write_idx(tmp_path / TEST_IMAGES, small.test_images[:5].squeeze(1).numpy())
    data = load_challenge_dir(tmp_path)
    assert torch.equal(data.train_images, images) and torch.equal(data.train_labels, labels)


def test_bad_idx_files_raise_value_error(tmp_path: Path) -> None:
    array = np.zeros((4, 28, 28), dtype=np.uint8)
    raw = write_idx(tmp_path / "ok", array, compress=False).read_bytes()
    (tmp_path / "truncated").write_bytes(raw[:-1])
    (tmp_path / "not-idx").write_bytes(b"PK\x03\x04 a zip, not an IDX file")
    with pytest.raises(ValueError, match="header announces"):
        read_idx(tmp_path / "truncated")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "not-idx")


def test_a_directory_without_the_files_says_which_are_missing(tmp_path: Path) -> None:
    write_idx(tmp_path / TRAIN_IMAGES, np.zeros((2, 28, 28), dtype=np.uint8))
    with pytest.raises(FileNotFoundError) as error:
        load_challenge_dir(tmp_path)
    assert TRAIN_LABELS in str(error.value)
    assert TRAIN_IMAGES not in str(error.value) and TEST_IMAGES not in str(error.value)


def test_a_challenge_that_hides_its_test_images_loads(tmp_path: Path) -> None:
    """Checkpoint challenges may keep their test inputs on the server (issue #18, defect 12)."""
    write_idx(tmp_path / TRAIN_IMAGES, np.zeros((3, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / TRAIN_LABELS, np.arange(3, dtype=np.uint8))
    data = load_challenge_dir(tmp_path)
    assert data.train_images.shape == (3, 1, 28, 28) and data.train_labels.tolist() == [0, 1, 2]
    assert data.test_images is None and data.test_labels is None


def test_images_and_labels_must_agree(tmp_path: Path) -> None:
    write_idx(tmp_path / TRAIN_IMAGES, np.zeros((3, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / TRAIN_LABELS, np.zeros(2, dtype=np.uint8))
    write_idx(tmp_path / TEST_IMAGES, np.zeros((1, 28, 28), dtype=np.uint8))
    with pytest.raises(ValueError, match="3 training images but 2 labels"):
        load_challenge_dir(tmp_path)


def test_the_dataset_serves_floats_in_0_1(small: ChallengeData) -> None:
    dataset = ImageDataset(small.train_images, small.train_labels)
    image, label = dataset[0]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32
    assert image.min() >= 0.0 and image.max() <= 1.0 and image.max() > 0.5
    assert label == small.train_labels[0]
    assert len(dataset) == SMALL_TRAIN_IMAGES


def test_the_validation_split_depends_on_the_seed_only(small: ChallengeData) -> None:
    images, labels = small.train_images, small.train_labels
    train, validation = split_validation(images, labels, 500, seed=7)
    torch.rand(3)  # drawing other random numbers in between changes nothing
    train_again, validation_again = split_validation(images, labels, 500, seed=7)
    _, other = split_validation(images, labels, 500, seed=8)
    assert validation is not None and validation_again is not None and other is not None
    assert len(train) == 1_500 and len(validation) == 500
    assert torch.equal(validation.images, validation_again.images)
    assert not torch.equal(validation.images, other.images)
    # A partition: together the two splits hold each original image exactly once.
    split_rows = [row.tobytes() for row in torch.cat([train.images, validation.images]).numpy()]
    assert sorted(split_rows) == sorted(row.tobytes() for row in images.numpy())


def test_validation_size_zero_trains_on_everything(small: ChallengeData) -> None:
    train, validation = split_validation(small.train_images, small.train_labels, 0, seed=1)
    assert validation is None and len(train) == SMALL_TRAIN_IMAGES
    with pytest.raises(ValueError, match="validation size"):
        split_validation(small.train_images, small.train_labels, SMALL_TRAIN_IMAGES, seed=1)


def test_batches_cover_every_image_once_per_pass(small: ChallengeData) -> None:
    dataset = ImageDataset(small.train_images[:250], small.train_labels[:250])
    in_order = Batches(dataset, batch_size=100)
    assert len(in_order) == 3 and [len(labels) for _, labels in in_order] == [100, 100, 50]
    images, labels = next(iter(in_order))
    assert images.dtype == torch.float32 and images.shape == (100, 1, 28, 28)
    assert torch.equal(images, dataset.images[:100].float() / 255)
    assert torch.equal(labels, dataset.labels[:100])

    shuffled = Batches(dataset, 100, shuffle=True, generator=torch.Generator().manual_seed(3))
    first, second = list(shuffled), list(shuffled)
    again = list(Batches(dataset, 100, shuffle=True, generator=torch.Generator().manual_seed(3)))
    assert not torch.equal(first[0][1], second[0][1])  # a new order each pass
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, again, strict=True))  # the seed's
    for one_pass in (first, second):
        rows = sorted(row.tobytes() for images, _ in one_pass for row in images.numpy())
        assert rows == sorted(row.tobytes() for row in (dataset.images.float() / 255).numpy())
