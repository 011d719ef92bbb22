"""Searching hyper-parameters with Optuna: the course's "we need to find them".

Which hidden sizes, learning rate, batch size, number of epochs, dropout?
Rather than guess, run many short trainings (trials) and keep the best:

- Optuna's TPE sampler proposes each trial's values, learning from the
  trials before it; it is seeded, so the same seed proposes the same trials;
- each trial trains with :func:`baselines.train.fit` and is scored on the
  **validation** split, never on the test images (those are the
  leaderboard's: choosing by test score would over-fit the leaderboard);
- a trial whose validation accuracy after a few epochs is below the median
  of earlier trials at that epoch is stopped early (pruned).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import optuna

from baselines.data import ChallengeData
from baselines.models import ModelConfig
from baselines.train import EpochResult, TrainOptions, TrainResult, fit, model_config_for

DEFAULT_TRIALS = 20
HIDDEN_LAYERS_RANGE = (1, 2)
HIDDEN_UNITS_RANGE = (64, 1024)  # sampled on a log scale
LEARNING_RATE_RANGE = (1e-4, 1e-2)  # sampled on a log scale
BATCH_SIZES = (32, 64, 128, 256)
EPOCHS_RANGE = (3, 15)
DROPOUT_RANGE = (0.0, 0.5)
DROPOUT_STEP = 0.05
# Pruning: the first trials always run to the end, and no trial is judged on its
# first epochs, when every model still looks bad.
PRUNER_STARTUP_TRIALS = 5
PRUNER_WARMUP_EPOCHS = 2


@dataclass
class SweepResult:
    """The best trial's trained model, its hyper-parameters, and what the sweep did."""

    best: TrainResult
    best_trial: int
    best_params: dict[str, Any]
    completed_trials: int
    pruned_trials: int
    seconds: float


def suggest(
    trial: optuna.Trial, family: str, data: ChallengeData, base: TrainOptions
) -> tuple[ModelConfig, TrainOptions]:
    """The model config and training options that ``trial`` proposes."""
    learning_rate = trial.suggest_float("learning_rate", *LEARNING_RATE_RANGE, log=True)
    options = replace(
        base,
        # Two significant digits: a value that reads well in the command that repeats it.
        learning_rate=float(f"{learning_rate:.2g}"),
        batch_size=trial.suggest_categorical("batch_size", BATCH_SIZES),
        epochs=trial.suggest_int("epochs", *EPOCHS_RANGE),
    )
    if family == "neuron":  # no hidden layer, no dropout: only the training options
        return model_config_for(family, data), options
    layers = trial.suggest_int("hidden_layers", *HIDDEN_LAYERS_RANGE)
    hidden = [
        trial.suggest_int(f"hidden_{i + 1}", *HIDDEN_UNITS_RANGE, log=True) for i in range(layers)
    ]
    dropout = trial.suggest_float("dropout", *DROPOUT_RANGE, step=DROPOUT_STEP)
    return model_config_for(family, data, hidden=hidden, dropout=dropout), options


def run_sweep(
    family: str,
    data: ChallengeData,
    base: TrainOptions,
    trials: int = DEFAULT_TRIALS,
    timeout: float | None = None,
    verbose: bool = True,
) -> SweepResult:
    """Run ``trials`` trainings of ``family`` (or until ``timeout`` seconds); keep the best.

    ``base`` gives the options that are not searched (seed, device, loss,
    validation size, dry run). The best model stays in memory, so it can be
    exported without training it again.
    """
    if base.validation_size == 0:
        raise ValueError("a sweep needs a validation split: set a validation size above 0")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=base.seed),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=PRUNER_WARMUP_EPOCHS
        ),
    )
    # The best trial so far, with its trained model.
    best_result: TrainResult | None = None
    best_trial = -1

    def objective(trial: optuna.Trial) -> float:
        nonlocal best_result, best_trial
        model_config, options = suggest(trial, family, data, base)

        def report(epoch: EpochResult) -> None:
            assert epoch.validation_accuracy is not None
            trial.report(epoch.validation_accuracy, step=epoch.epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()

        start = time.perf_counter()
        try:
            result = fit(model_config, options, data, on_epoch_end=report, verbose=False)
        except optuna.TrialPruned:
            if verbose:
                print(f"trial {trial.number:>3}: pruned  {_describe(trial.params)}", flush=True)
            raise
        accuracy = result.validation_accuracy
        assert accuracy is not None
        if verbose:
            print(
                f"trial {trial.number:>3}: validation {accuracy:7.2%}  "
                f"{_describe(trial.params)}  {time.perf_counter() - start:5.1f} s",
                flush=True,
            )
        if best_result is None or accuracy > (best_result.validation_accuracy or 0.0):
            best_result, best_trial = result, trial.number
        return accuracy

    start = time.perf_counter()
    study.optimize(objective, n_trials=trials, timeout=timeout)
    if best_result is None:
        raise ValueError("no trial completed; give the sweep more trials or more time")
    states = [trial.state for trial in study.trials]
    return SweepResult(
        best=best_result,
        best_trial=best_trial,
        best_params=study.trials[best_trial].params,
        completed_trials=states.count(optuna.trial.TrialState.COMPLETE),
        pruned_trials=states.count(optuna.trial.TrialState.PRUNED),
        seconds=time.perf_counter() - start,
    )


def _describe(params: dict[str, Any]) -> str:
    return " ".join(
        f"{name}={value:.2g}" if isinstance(value, float) else f"{name}={value}"
        for name, value in params.items()
    )
