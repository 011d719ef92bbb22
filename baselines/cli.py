"""``python -m baselines``: train a course baseline, or search its hyper-parameters.

::

    python -m baselines train --model cnn --epochs 6
    python -m baselines train --model mlp --hidden 512,256 --dropout 0.3 --submit mnist
    python -m baselines sweep --model mlp --trials 20

Both commands write into ``--out`` (default ``runs/<model>``):
``predictions.csv`` (``id,label``), the weights-only checkpoint
``model.safetensors`` + ``model.json``, and with ``--torchscript`` a
TorchScript ``model.pt``. ``--submit SLUG`` then sends the CSV (or, with
``--as checkpoint``, the checkpoint) to Podium and waits for its public score.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import torch

from baselines.data import TEST_IMAGES, ChallengeData, load_challenge_dir
from baselines.export import (
    PREDICTIONS_FILE,
    TORCHSCRIPT_FILE,
    export_torchscript,
    save_checkpoint,
    write_predictions,
)
from baselines.factsheet import fact_sheet
from baselines.models import ACTIVATIONS, MODEL_FAMILIES, build_model, count_parameters
from baselines.train import (
    DEFAULT_SEED,
    DEFAULT_VALIDATION_SIZE,
    LOSS_FUNCTIONS,
    RECOMMENDED_OPTIONS,
    SCHEDULES,
    TrainOptions,
    TrainResult,
    fit,
    model_config_for,
    predict,
    usable_cores,
)

DOWNLOAD_ROOT = Path("data")  # where `podium download SLUG` puts a challenge
DEMO_DATA_DIRS = (  # the MNIST copy that Podium ships, from a checkout or an install
    Path("server/demo/mnist"),
    Path(__file__).resolve().parents[1] / "server" / "demo" / "mnist",
)
RUNS_ROOT = Path("runs")

T = TypeVar("T")


class CommandError(Exception):
    """A problem to report in one line, without a traceback."""


@dataclass
class Outputs:
    """The files a run wrote."""

    predictions: Path | None  # None: the challenge keeps its test images hidden
    weights: Path
    config: Path
    program: Path | None = None


def int_list(text: str) -> list[int]:
    """``"256,128"`` -> ``[256, 128]``; an empty string is an empty list."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected integers separated by commas, got {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--model", choices=sorted(MODEL_FAMILIES), required=True, help="the model family"
    )
    common.add_argument(
        "--data",
        type=Path,
        help="challenge directory (default: data/SLUG with --submit, else the demo MNIST)",
    )
    common.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 1)")
    common.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")
    common.add_argument(
        "--validation-size",
        type=int,
        default=DEFAULT_VALIDATION_SIZE,
        help=f"training images held out for validation (default {DEFAULT_VALIDATION_SIZE})",
    )
    common.add_argument("--loss", choices=sorted(LOSS_FUNCTIONS), help="default: per model")
    common.add_argument(
        "--dry-run", action="store_true", help="one batch of a tiny subset, to check that it runs"
    )
    common.add_argument("--out", type=Path, help="output directory (default runs/MODEL)")
    common.add_argument("--torchscript", action="store_true", help=f"also write {TORCHSCRIPT_FILE}")
    common.add_argument("--submit", metavar="SLUG", help="submit to this Podium challenge")
    common.add_argument(
        "--as",
        dest="submit_as",
        choices=["csv", "checkpoint"],
        default="csv",
        help="submit the predictions CSV (default) or the weights-only checkpoint",
    )
    common.add_argument("--message", "-m", help="submission message (default: a summary)")

    parser = argparse.ArgumentParser(prog="python -m baselines", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", parents=[common], help="train one baseline")
    train.add_argument("--epochs", type=int, help="default: per model (see docs/baselines.md)")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float, help="Adam's learning rate (one-cycle: its peak)")
    train.add_argument(
        "--schedule", choices=SCHEDULES, help="learning-rate schedule (default: per model)"
    )
    train.add_argument(
        "--lr-decay",
        type=float,
        help="step schedule: the learning rate is multiplied by this each epoch",
    )
    train.add_argument("--hidden", type=int_list, help="hidden layer widths, e.g. 256,128")
    train.add_argument(
        "--channels", type=int_list, help="CNN: channels of each conv block, e.g. 32,64"
    )
    train.add_argument("--activation", choices=sorted(ACTIVATIONS))
    train.add_argument("--dropout", type=float)

    sweep = commands.add_parser("sweep", parents=[common], help="search hyper-parameters (Optuna)")
    sweep.add_argument("--trials", type=int, default=20, help="number of trainings (default 20)")
    sweep.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return its exit status (0 on success, 1 on an error)."""
    args = build_parser().parse_args(argv)
    # One thread per usable core: more only make the threads wait for each other.
    torch.set_num_threads(usable_cores())
    try:
        return train_command(args) if args.command == "train" else sweep_command(args)
    except (CommandError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def train_command(args: argparse.Namespace) -> int:
    data = load_challenge_dir(resolve_data_dir(args.data, args.submit))
    check_submittable(data, args.submit, args.submit_as)
    model_config = model_config_for(
        args.model,
        data,
        hidden=args.hidden,
        channels=args.channels,
        activation=args.activation,
        dropout=args.dropout,
    )
    recommended = RECOMMENDED_OPTIONS[args.model]
    schedule = _given(args.schedule, recommended.schedule)
    # A model's recommended decay belongs to its recommended schedule.
    default_decay = recommended.lr_decay if schedule == recommended.schedule else 1.0
    options = replace(
        base_options(args),
        epochs=_given(args.epochs, recommended.epochs),
        batch_size=_given(args.batch_size, recommended.batch_size),
        learning_rate=_given(args.lr, recommended.learning_rate),
        schedule=schedule,
        lr_decay=_given(args.lr_decay, default_decay),
    )
    parameters = count_parameters(build_model(model_config))
    print(f"{args.model}: {model_config.to_dict()}, {parameters:,} parameters")
    result = fit(model_config, options, data)
    print(f"trained in {result.seconds:.1f} s on {result.device}")
    outputs = write_outputs(result, data, args.out or RUNS_ROOT / args.model, args.torchscript)
    if args.submit:
        message = args.message or summary(result)
        return submit(args.submit, outputs, args.submit_as, message, fact_sheet(result))
    return 0


def sweep_command(args: argparse.Namespace) -> int:
    from baselines.sweep import run_sweep  # imports Optuna, which `train` does not need

    data = load_challenge_dir(resolve_data_dir(args.data, args.submit))
    check_submittable(data, args.submit, args.submit_as)
    trials = min(args.trials, 2) if args.dry_run else args.trials
    sweep = run_sweep(args.model, data, base_options(args), trials=trials, timeout=args.timeout)
    best = sweep.best
    print(
        f"best of {sweep.completed_trials} trials ({sweep.pruned_trials} pruned, "
        f"{sweep.seconds:.0f} s): trial {sweep.best_trial}, "
        f"validation accuracy {best.validation_accuracy:.2%}"
    )
    print(f"model: {best.model_config.to_dict()}")
    print(f"to train it again: {train_command_line(best)}")
    outputs = write_outputs(
        best, data, args.out or RUNS_ROOT / f"{args.model}-sweep", args.torchscript
    )
    if args.submit:
        message = args.message or f"{summary(best)} (best of a {trials}-trial sweep)"
        return submit(args.submit, outputs, args.submit_as, message, fact_sheet(best))
    return 0


def base_options(args: argparse.Namespace) -> TrainOptions:
    """The options both commands share, on top of the model's recommended ones."""
    recommended = RECOMMENDED_OPTIONS[args.model]
    return replace(
        recommended,
        loss=_given(args.loss, recommended.loss),
        validation_size=args.validation_size,
        seed=args.seed,
        device=args.device,
        dry_run=args.dry_run,
    )


def _given(value: T | None, default: T) -> T:
    return default if value is None else value


def resolve_data_dir(data: Path | None, slug: str | None) -> Path:
    """``--data``; else ``data/SLUG`` (downloaded when missing); else the demo MNIST."""
    if data is not None:
        return data
    if slug is not None:
        directory = DOWNLOAD_ROOT / slug
        if not directory.is_dir():
            podium = import_podium()
            print(f"downloading {slug} into {directory}")
            with podium.Client() as client:
                client.download(slug, directory)
        return directory
    for candidate in DEMO_DATA_DIRS:
        if candidate.is_dir():
            return candidate
    raise CommandError("no --data given and no demo data found: pass --data DIR")


def check_submittable(data: ChallengeData, slug: str | None, kind: str) -> None:
    """Refuse, before any training, a CSV submission that there are no test images to write."""
    if slug is not None and kind == "csv" and data.test_images is None:
        raise CommandError(
            f"challenge {slug!r} has no test images ({TEST_IMAGES}): it keeps its test "
            "inputs hidden and scores checkpoints; submit one with --as checkpoint"
        )


def write_outputs(
    result: TrainResult, data: ChallengeData, out_dir: Path, torchscript: bool
) -> Outputs:
    """Write the checkpoint, the test images' predictions (where there are test images)
    and maybe a TorchScript program."""
    out_dir.mkdir(parents=True, exist_ok=True)
    weights, config = save_checkpoint(result.model, result.model_config, out_dir)
    outputs = Outputs(predictions=None, weights=weights, config=config)
    labels = None
    if data.test_images is None:
        print(f"no test images here: no {PREDICTIONS_FILE} (this challenge scores checkpoints)")
    else:
        labels = predict(result.model, data.test_images, result.device)
        outputs.predictions = write_predictions(out_dir / PREDICTIONS_FILE, labels)
    if torchscript:
        outputs.program = export_torchscript(
            result.model, out_dir / TORCHSCRIPT_FILE, result.model_config.input_shape
        )
    written = [outputs.predictions, weights, config, outputs.program]
    print("wrote " + ", ".join(str(p) for p in written if p is not None))
    if labels is not None and data.test_labels is not None:  # only the demo copy ships them
        accuracy = (labels == data.test_labels).float().mean().item()
        print(f"test accuracy {accuracy:.2%} (the demo data ships its test labels)")
    return outputs


def summary(result: TrainResult) -> str:
    options = result.options
    epochs = f"{options.epochs} epoch" + ("s" if options.epochs != 1 else "")
    text = f"{result.model_config.family}, {epochs}, seed {options.seed}"
    if result.validation_accuracy is not None:
        text += f", validation {result.validation_accuracy:.2%}"
    return text


def train_command_line(result: TrainResult) -> str:
    """The ``python -m baselines train`` command that trains ``result``'s model again."""
    config, options = result.model_config, result.options
    parts = [f"python -m baselines train --model {config.family}"]
    if config.channels is not None:
        parts.append("--channels " + ",".join(str(width) for width in config.channels))
    if config.hidden is not None:
        parts.append("--hidden " + ",".join(str(width) for width in config.hidden))
    if config.activation is not None:
        parts.append(f"--activation {config.activation}")
    if config.dropout is not None:
        parts.append(f"--dropout {config.dropout:g}")
    parts += [
        f"--loss {options.loss}",
        f"--lr {options.learning_rate:g}",
        f"--schedule {options.schedule}",
        f"--lr-decay {options.lr_decay:g}",
        f"--batch-size {options.batch_size}",
        f"--epochs {options.epochs}",
        f"--validation-size {options.validation_size}",
        f"--seed {options.seed}",
    ]
    return " ".join(parts)


def import_podium() -> ModuleType:
    """The Podium client, imported only when needed: the baselines work without it."""
    try:
        import podium
    except ImportError:
        raise CommandError(
            "this needs the Podium client library (`pip install podium-client`, "
            "or `pip install -e client/` from a checkout)"
        ) from None
    return podium


def submit(
    slug: str, outputs: Outputs, kind: str, message: str, metadata: dict[str, Any] | None = None
) -> int:
    """Send the run's CSV or checkpoint (with its fact sheet) to ``slug``; wait for its score."""
    podium = import_podium()
    try:
        with podium.Client() as client:
            if kind == "checkpoint":
                submission = client.submit(
                    slug,
                    outputs.weights,
                    message=message,
                    kind=kind,
                    config=outputs.config,
                    metadata=metadata,
                )
            else:
                assert outputs.predictions is not None  # check_submittable made sure
                submission = client.submit(
                    slug, outputs.predictions, message=message, kind=kind, metadata=metadata
                )
            print(f"submitted #{submission.id} ({kind}); waiting for its score...")
            submission = client.wait(submission.id)
    except podium.PodiumError as error:
        raise CommandError(f"submission to {slug!r} failed: {error}") from None
    if submission.status != "scored":
        print(f"submission #{submission.id} {submission.status}: {submission.error}")
        return 1
    left = submission.remaining_today
    print(
        f"submission #{submission.id}: public score {submission.public_score}"
        + (f" ({left} submissions left today)" if left is not None else "")
    )
    return 0
