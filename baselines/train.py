"""One training loop for all three families: the course's loop.

::

    for each epoch:
        for each batch of images x with labels y:
            forward pass       logits = model(x)
            loss calculation   loss = loss_function(logits, y)
            backward pass      loss.backward()     (the gradients)
            step               optimizer.step()    (Adam, the course's optimizer)
            (one-cycle only)   scheduler.step()    (the learning rate of the next batch)
        accuracy on the training batches, then on the validation split

Read it top to bottom: :func:`train` is one epoch, :func:`test` measures
accuracy, :func:`fit` runs the epochs, :func:`predict` labels the test images.
Everything random (weights, batch order, dropout, validation split) comes from
one seed, so the same seed gives the same accuracy on the same CPU.

Two things make it fast on a CPU without changing what it computes: batches
are cut from tensors in memory (:class:`~baselines.data.Batches`), and the
images and the weights are stored channels-last (``(N, H, W, C)`` in memory),
the layout in which oneDNN's convolutions run fastest (about a third less
CPU time per CNN epoch here). The CNN's other saving is its learning-rate
schedule: with "one-cycle" (warm up, then anneal) it passes 99.2% in 4
epochs, where the step schedule took 10 (docs/baselines.md has the figures).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from baselines.data import Batches, ChallengeData, split_validation, to_float
from baselines.models import DEFAULT_NUM_CLASSES, ModelConfig, build_model, parse_config

DEFAULT_SEED = 1
DEFAULT_BATCH_SIZE = 64
DEFAULT_LEARNING_RATE = 1e-3
DEFAULT_VALIDATION_SIZE = 5_000  # of MNIST's 60,000 training images
EVAL_BATCH_SIZE = 1_000  # no gradients at evaluation, so larger batches fit
DRY_RUN_TRAIN_IMAGES = 256
DRY_RUN_VALIDATION_IMAGES = 64

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def one_hot_bce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The "My first neuron" loss: each output is a sigmoid neuron whose target
    is the one-hot encoding of the label (1 for the right digit, 0 elsewhere)."""
    targets = F.one_hot(labels, num_classes=logits.shape[1]).float()
    return F.binary_cross_entropy_with_logits(logits, targets)


# "cross-entropy" (softmax over the 10 outputs) is the usual choice once there are
# hidden layers; "bce" treats the outputs as 10 independent sigmoid neurons.
LOSS_FUNCTIONS: dict[str, Loss] = {"cross-entropy": F.cross_entropy, "bce": one_hot_bce}

# "step": the learning rate is multiplied by ``lr_decay`` after each epoch.
# "one-cycle": it rises from lr/25 to ``learning_rate`` over the first 30% of the
# batches, then falls to almost 0 by the last one (Smith & Topin, "Super-convergence",
# 2017); changed after every batch, it converges in fewer epochs.
SCHEDULES = ("step", "one-cycle")


@dataclass
class TrainOptions:
    """How to train: the hyper-parameters that are not part of the model."""

    epochs: int
    batch_size: int = DEFAULT_BATCH_SIZE
    learning_rate: float = DEFAULT_LEARNING_RATE
    lr_decay: float = 1.0  # the learning rate is multiplied by this after each epoch
    schedule: str = "step"  # or "one-cycle": then learning_rate is the peak, lr_decay unused
    loss: str = "cross-entropy"
    validation_size: int = DEFAULT_VALIDATION_SIZE  # 0: train on every image
    seed: int = DEFAULT_SEED
    device: str = "auto"
    dry_run: bool = False  # one batch of a tiny subset: checks that everything runs

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {self.batch_size}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning rate must be positive, got {self.learning_rate}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"learning-rate decay must be in (0, 1], got {self.lr_decay}")
        if self.validation_size < 0:
            raise ValueError(f"validation size must be 0 or more, got {self.validation_size}")
        if self.loss not in LOSS_FUNCTIONS:
            raise ValueError(f"unknown loss {self.loss!r}; known: {', '.join(LOSS_FUNCTIONS)}")
        if self.schedule not in SCHEDULES:
            known = ", ".join(SCHEDULES)
            raise ValueError(f"unknown schedule {self.schedule!r}; known: {known}")
        if self.schedule == "one-cycle" and self.lr_decay != 1:
            raise ValueError("learning-rate decay applies to the step schedule, not one-cycle")


# What the baselines use when a flag is not given; docs/baselines.md shows what
# they reach (measured by benchmarks/baselines.py).
RECOMMENDED_OPTIONS: dict[str, TrainOptions] = {
    "neuron": TrainOptions(epochs=10, loss="bce"),
    "mlp": TrainOptions(epochs=15, lr_decay=0.9),
    "cnn": TrainOptions(epochs=4, batch_size=128, learning_rate=3e-3, schedule="one-cycle"),
}


@dataclass
class EpochResult:
    """What one epoch measured."""

    epoch: int
    train_loss: float  # mean loss over the epoch's batches
    train_accuracy: float  # on the batches as they were trained (dropout on)
    validation_accuracy: float | None  # None without a validation split
    learning_rate: float
    seconds: float

    def summary(self, epochs: int) -> str:
        validation = (
            f"  validation {self.validation_accuracy:7.2%}"
            if self.validation_accuracy is not None
            else ""
        )
        return (
            f"epoch {self.epoch:>3}/{epochs}  loss {self.train_loss:.4f}  "
            f"train {self.train_accuracy:7.2%}{validation}  "
            f"lr {self.learning_rate:.2e}  {self.seconds:5.1f} s"
        )


@dataclass
class TrainResult:
    """A trained model (in eval mode), its config, and the history of its epochs."""

    model: nn.Module
    model_config: ModelConfig
    options: TrainOptions
    device: torch.device
    history: list[EpochResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def validation_accuracy(self) -> float | None:
        return self.history[-1].validation_accuracy if self.history else None


def seed_everything(seed: int) -> None:
    """Make a run repeatable: seed every random generator, ask for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA
    # cuBLAS needs this set before its first use to be deterministic.
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # Some CUDA kernels (max-pool's backward) have no deterministic version: warn, not fail.
    torch.use_deterministic_algorithms(True, warn_only=True)


def usable_cores() -> int:
    """The CPU cores this process may run on: fewer than the machine has under
    ``taskset`` or in a container limited to some cores."""
    if hasattr(os, "sched_getaffinity"):  # Linux
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def select_device(name: str = "auto") -> torch.device:
    """``auto`` picks a CUDA GPU, then Apple's MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA GPU is available here (try --device auto)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("--device mps: Apple's MPS is not available here (try --device auto)")
    return torch.device(name)


def model_config_for(family: str, data: ChallengeData, **hyperparameters: object) -> ModelConfig:
    """A config of ``family`` whose input and output fit the challenge's images and labels."""
    input_shape = tuple(data.train_images.shape[1:])
    num_classes = max(DEFAULT_NUM_CLASSES, int(data.train_labels.max()) + 1)
    given = {name: value for name, value in hyperparameters.items() if value is not None}
    return parse_config(
        {"family": family, "input_shape": input_shape, "num_classes": num_classes, **given}
    )


def train(
    model: nn.Module,
    device: torch.device,
    loader: Batches,
    optimizer: torch.optim.Optimizer,
    loss_function: Loss,
    dry_run: bool = False,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> tuple[float, float]:
    """One epoch of the course's loop. Returns the mean loss and the accuracy.

    ``scheduler``, if given, is stepped after every batch (the one-cycle schedule).
    """
    model.train()  # dropout on
    total_loss, correct, seen = 0.0, 0, 0
    for images, labels in loader:
        images = images.to(device, memory_format=torch.channels_last)
        labels = labels.to(device)
        optimizer.zero_grad()  # forget the previous batch's gradients
        logits = model(images)  # forward pass
        loss = loss_function(logits, labels)  # loss calculation
        loss.backward()  # backward pass: d(loss)/d(weight) for every weight
        optimizer.step()  # move every weight a little against its gradient
        if scheduler is not None:
            scheduler.step()  # the learning rate for the next batch
        total_loss += loss.item() * len(labels)
        correct += int((logits.argmax(dim=1) == labels).sum())  # accuracy calculation
        seen += len(labels)
        if dry_run:
            break
    return total_loss / seen, correct / seen


@torch.no_grad()
def test(model: nn.Module, device: torch.device, loader: Batches) -> float:
    """Accuracy on ``loader``'s images, with dropout off and no gradients."""
    model.eval()
    correct, seen = 0, 0
    for images, labels in loader:
        images = images.to(device, memory_format=torch.channels_last)
        predictions = model(images).argmax(dim=1)
        correct += int((predictions == labels.to(device)).sum())
        seen += len(labels)
    return correct / seen


@torch.no_grad()
def predict(
    model: nn.Module,
    images: torch.Tensor,
    device: torch.device | str = "cpu",
    batch_size: int = EVAL_BATCH_SIZE,
) -> torch.Tensor:
    """The predicted label of each uint8 image, as a CPU tensor: row i is image i."""
    model.eval()
    batches = [
        model(to_float(images[start : start + batch_size]).to(device)).argmax(dim=1).cpu()
        for start in range(0, len(images), batch_size)
    ]
    return torch.cat(batches)


def fit(
    model_config: ModelConfig,
    options: TrainOptions,
    data: ChallengeData,
    *,
    on_epoch_end: Callable[[EpochResult], None] | None = None,
    verbose: bool = True,
) -> TrainResult:
    """Build a model from ``model_config`` and train it on ``data``'s training images.

    ``on_epoch_end`` is called after each epoch (the sweep uses it to stop
    hopeless trials early). With ``verbose``, one line is printed per epoch.
    """
    if tuple(data.train_images.shape[1:]) != model_config.input_shape:
        raise ValueError(
            f"the model expects images of shape {model_config.input_shape}, "
            f"the data has {tuple(data.train_images.shape[1:])}"
        )
    if int(data.train_labels.min()) < 0 or int(data.train_labels.max()) >= model_config.num_classes:
        raise ValueError(f"labels must be between 0 and {model_config.num_classes - 1}")

    seed_everything(options.seed)
    device = select_device(options.device)
    images, labels, validation_size = data.train_images, data.train_labels, options.validation_size
    if options.dry_run:
        images, labels = images[:DRY_RUN_TRAIN_IMAGES], labels[:DRY_RUN_TRAIN_IMAGES]
        validation_size = min(validation_size, DRY_RUN_VALIDATION_IMAGES)
        options = replace(options, epochs=1)
    train_set, validation_set = split_validation(images, labels, validation_size, options.seed)
    train_loader = Batches(
        train_set,
        batch_size=options.batch_size,
        shuffle=True,  # a new order each epoch, drawn from the seed
        generator=torch.Generator().manual_seed(options.seed),
    )
    validation_loader = Batches(validation_set, EVAL_BATCH_SIZE) if validation_set else None

    # Channels-last weights, like the batches (see the module's docstring).
    model = build_model(model_config).to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=options.learning_rate)
    loss_function = LOSS_FUNCTIONS[options.loss]
    epoch_scheduler, batch_scheduler = None, None
    if options.schedule == "one-cycle":
        batch_scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=options.learning_rate,
            epochs=options.epochs,
            steps_per_epoch=len(train_loader),
        )
    else:
        epoch_scheduler = torch.optim.lr_scheduler.StepLR(
            optimizer, step_size=1, gamma=options.lr_decay
        )

    result = TrainResult(model=model, model_config=model_config, options=options, device=device)
    start = time.perf_counter()
    for epoch in range(1, options.epochs + 1):
        epoch_start = time.perf_counter()
        learning_rate = float(optimizer.param_groups[0]["lr"])
        train_loss, train_accuracy = train(
            model, device, train_loader, optimizer, loss_function, options.dry_run, batch_scheduler
        )
        validation_accuracy = test(model, device, validation_loader) if validation_loader else None
        if epoch_scheduler is not None:
            epoch_scheduler.step()
        epoch_result = EpochResult(
            epoch=epoch,
            train_loss=train_loss,
            train_accuracy=train_accuracy,
            validation_accuracy=validation_accuracy,
            learning_rate=learning_rate,
            seconds=time.perf_counter() - epoch_start,
        )
        result.history.append(epoch_result)
        if verbose:
            print(epoch_result.summary(options.epochs), flush=True)
        if on_epoch_end is not None:
            on_epoch_end(epoch_result)
    result.seconds = time.perf_counter() - start
    # Back to the usual layout, which TorchScript tracing and other code expect.
    model.to(memory_format=torch.contiguous_format).eval()
    return result
