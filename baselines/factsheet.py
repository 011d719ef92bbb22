"""A training run's fact sheet: the ``metadata`` sent with ``--submit``.

The keys are the ones Podium documents for a submission's metadata (model,
hidden_sizes, activation, optimizer, learning_rate, batch_size, epochs,
dropout, weight_decay, seed, val_metric, curve); the rest (schedule, loss,
channels, parameters) are kept by the server and shown as text.
"""

from __future__ import annotations

from typing import Any

from baselines.models import build_model, count_parameters
from baselines.train import TrainResult


def fact_sheet(result: TrainResult) -> dict[str, Any]:
    """Hyper-parameters, validation score and per-epoch curve of ``result``."""
    config, options = result.model_config, result.options
    sheet: dict[str, Any] = {
        "model": config.family,
        "optimizer": "adam",
        "learning_rate": options.learning_rate,
        "batch_size": options.batch_size,
        "epochs": options.epochs,
        "weight_decay": 0.0,
        "seed": options.seed,
    }
    if config.hidden is not None:
        sheet["hidden_sizes"] = list(config.hidden)
    if config.activation is not None:
        sheet["activation"] = config.activation
    sheet["dropout"] = config.dropout if config.dropout is not None else 0.0
    if result.validation_accuracy is not None:
        sheet["val_metric"] = result.validation_accuracy
    sheet["curve"] = [
        {
            "epoch": epoch.epoch,
            "train_loss": epoch.train_loss,
            "val_loss": None,
            "val_metric": epoch.validation_accuracy,
        }
        for epoch in result.history
    ]
    if config.channels is not None:
        sheet["channels"] = list(config.channels)
    sheet["schedule"] = options.schedule
    sheet["loss"] = options.loss
    sheet["parameters"] = count_parameters(build_model(config))
    return sheet
