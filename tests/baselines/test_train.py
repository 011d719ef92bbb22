"""The training loop, on a small real subset of MNIST (CPU)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from baselines.data import ChallengeData
from baselines.models import MODEL_FAMILIES, ModelConfig
from baselines.train import (
    RECOMMENDED_OPTIONS,
    TrainOptions,
    fit,
    model_config_for,
    predict,
    select_device,
)

VALIDATION_IMAGES = 500
SMALL_MODELS = {  # small enough to train a few epochs on 1,500 images in about a second
    "neuron": {},
    "mlp": {"hidden": [64]},
    "cnn": {"channels": [8, 16], "hidden": [32]},
}


def quick_options(family: str, epochs: int = 3, seed: int = 1) -> TrainOptions:
    return TrainOptions(
        epochs=epochs,
        loss=RECOMMENDED_OPTIONS[family].loss,
        validation_size=VALIDATION_IMAGES,
        seed=seed,
        device="cpu",
    )


@pytest.mark.parametrize("family", sorted(MODEL_FAMILIES))
def test_the_training_loss_falls(small: ChallengeData, family: str) -> None:
    config = model_config_for(family, small, **SMALL_MODELS[family])
    result = fit(config, quick_options(family), small, verbose=False)
    losses = [epoch.train_loss for epoch in result.history]
    assert len(losses) == 3
    assert losses[-1] < losses[0]
    assert result.validation_accuracy is not None and result.validation_accuracy > 0.5
    assert not result.model.training  # handed back in eval mode


def test_one_cycle_warms_up_then_anneals(small: ChallengeData) -> None:
    config = model_config_for("cnn", small, **SMALL_MODELS["cnn"])
    options = replace(quick_options("cnn", epochs=4), learning_rate=0.01, schedule="one-cycle")
    result = fit(config, options, small, verbose=False)
    rates = [epoch.learning_rate for epoch in result.history]  # at the start of each epoch
    assert rates[0] == pytest.approx(0.01 / 25)  # OneCycleLR's default start: peak / 25
    assert rates[1] > rates[0] and rates[1] > rates[3]
    assert result.validation_accuracy is not None and result.validation_accuracy > 0.5
    # Trained channels-last, handed back in the usual layout (TorchScript, safetensors).
    assert all(p.is_contiguous() for p in result.model.parameters())


def test_the_same_seed_gives_the_same_model(small: ChallengeData) -> None:
    config = model_config_for("mlp", small, hidden=[64], dropout=0.2)
    first = fit(config, quick_options("mlp", epochs=2, seed=5), small, verbose=False)
    second = fit(config, quick_options("mlp", epochs=2, seed=5), small, verbose=False)
    other = fit(config, quick_options("mlp", epochs=2, seed=6), small, verbose=False)
    assert first.history[-1].validation_accuracy == second.history[-1].validation_accuracy
    assert [e.train_loss for e in first.history] == [e.train_loss for e in second.history]
    weights, again = first.model.state_dict(), second.model.state_dict()
    assert all(torch.equal(weights[name], again[name]) for name in weights)
    assert not torch.equal(weights["output.weight"], other.model.state_dict()["output.weight"])


def test_progress_is_printed_once_per_epoch(
    small: ChallengeData, capsys: pytest.CaptureFixture[str]
) -> None:
    fit(model_config_for("neuron", small), quick_options("neuron", epochs=2), small)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [["epoch", "1/2"], ["epoch", "2/2"]]
    assert all("loss" in line and "train" in line and "validation" in line for line in lines)


def test_the_on_epoch_end_callback_sees_each_epoch(small: ChallengeData) -> None:
    seen: list[int] = []
    fit(
        model_config_for("neuron", small),
        quick_options("neuron", epochs=2),
        small,
        on_epoch_end=lambda epoch: seen.append(epoch.epoch),
        verbose=False,
    )
    assert seen == [1, 2]


def test_predict_labels_every_test_image(small: ChallengeData) -> None:
    result = fit(
        model_config_for("neuron", small), quick_options("neuron", 1), small, verbose=False
    )
    labels = predict(result.model, small.test_images)
    assert labels.shape == (10_000,) and labels.dtype == torch.int64
    assert int(labels.min()) >= 0 and int(labels.max()) <= 9


def test_fit_refuses_data_that_does_not_fit_the_model(small: ChallengeData) -> None:
    wrong_shape = ModelConfig(family="neuron", input_shape=(1, 32, 32))
    with pytest.raises(ValueError, match="images of shape"):
        fit(wrong_shape, quick_options("neuron", 1), small, verbose=False)
    too_few_classes = ModelConfig(family="neuron", num_classes=5)
    with pytest.raises(ValueError, match="labels must be between 0 and 4"):
        fit(too_few_classes, quick_options("neuron", 1), small, verbose=False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_asking_for_cuda_without_a_gpu_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no CUDA GPU"):
        select_device("cuda")
    assert select_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"epochs": 1, "batch_size": 0}, "batch size must be at least 1"),
        ({"epochs": 1, "learning_rate": 0.0}, "learning rate must be positive"),
        ({"epochs": 1, "lr_decay": 1.5}, "learning-rate decay must be in (0, 1]"),
        ({"epochs": 1, "validation_size": -1}, "validation size must be 0 or more"),
        ({"epochs": 1, "loss": "hinge"}, "unknown loss 'hinge'; known: cross-entropy, bce"),
        ({"epochs": 1, "schedule": "cosine"}, "unknown schedule 'cosine'; known: step, one-cycle"),
        (
            {"epochs": 1, "schedule": "one-cycle", "lr_decay": 0.5},
            "learning-rate decay applies to the step schedule, not one-cycle",
        ),
    ],
)
def test_invalid_training_options_raise_value_error(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError) as error:
        TrainOptions(**options)  # type: ignore[arg-type]
    assert message in str(error.value)
