"""From a trained model to files that Podium scores.

Three ways to submit (docs/checkpoints.md):

- a predictions CSV, ``id,label``, one row per test image (kind ``csv``);
- a weights-only checkpoint (kind ``checkpoint``): ``model.safetensors``, the
  tensors alone, and ``model.json``, the :class:`~baselines.models.ModelConfig`
  that says which architecture they belong to. The worker builds that
  architecture itself (:func:`load_checkpoint`), so no code of yours runs on
  the server: safe by construction. A ``torch.save`` pickle, by contrast, can
  run any code when it is loaded;
- a TorchScript program, ``model.pt``, for challenges that allow programs (it
  runs in a sandbox, since a program can do anything).
"""

from __future__ import annotations

import copy
import csv
import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from baselines.data import StrPath
from baselines.models import CourseModel, ModelConfig, build_model, parse_config

PREDICTIONS_FILE = "predictions.csv"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "model.json"
TORCHSCRIPT_FILE = "model.pt"
CSV_HEADER = ("id", "label")
MAX_PROBLEMS_LISTED = 5  # a checkpoint of the wrong family mismatches every tensor


def write_predictions(path: StrPath, labels: torch.Tensor | Sequence[int]) -> Path:
    """Write ``id,label`` with one row per test image: row i is test image i."""
    path = Path(path)
    values = labels.tolist() if isinstance(labels, torch.Tensor) else list(labels)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(enumerate(values))
    return path


def save_checkpoint(model: nn.Module, config: ModelConfig, directory: StrPath) -> tuple[Path, Path]:
    """Write ``model.safetensors`` and ``model.json`` into ``directory``; return both paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    weights_path, config_path = directory / WEIGHTS_FILE, directory / CONFIG_FILE
    tensors = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    save_file(tensors, weights_path, metadata={"format": "pt"})
    config_path.write_text(json.dumps(config.to_dict(), indent=2) + "\n", encoding="utf-8")
    return weights_path, config_path


def read_config(config_path: StrPath) -> ModelConfig:
    """Read and validate a ``model.json``; ``ValueError`` says what is wrong."""
    name = Path(config_path).name
    try:
        data = json.loads(Path(config_path).read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{name} is not valid JSON: {error}") from None
    try:
        return parse_config(data)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def load_checkpoint(
    weights_path: StrPath, config_path: StrPath, device: torch.device | str = "cpu"
) -> CourseModel:
    """Rebuild the model that ``model.json`` describes and load ``model.safetensors`` into it.

    Every tensor must be there, with the name, shape and dtype that the
    architecture expects, and nothing else; otherwise ``ValueError`` lists
    the first problems (``unexpected tensor 'fc9.weight'``, ``tensor
    'conv.0.weight' has shape (8,1,3,3), expected (32,1,3,3)``). The model is
    returned in eval mode, on ``device``.
    """
    config = read_config(config_path)
    try:
        tensors = load_file(weights_path)
    except (SafetensorError, ValueError, TypeError, KeyError, RuntimeError) as error:
        raise ValueError(
            f"{Path(weights_path).name} is not a valid safetensors file: {error}"
        ) from None
    model = build_model(config)
    problems = tensor_problems(tensors, model.state_dict())
    if problems:
        listed = problems[:MAX_PROBLEMS_LISTED]
        if len(problems) > len(listed):
            listed.append(f"and {len(problems) - len(listed)} more")
        raise ValueError(
            f"{Path(weights_path).name} does not fit the {config.family!r} model of "
            f"{Path(config_path).name}: " + "; ".join(listed)
        )
    model.load_state_dict(tensors)
    return model.to(device).eval()


def tensor_problems(
    found: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor]
) -> list[str]:
    """Every difference between the tensors a file has and those a model expects."""
    problems = [f"unexpected tensor {name!r}" for name in found if name not in expected]
    problems += [f"missing tensor {name!r}" for name in expected if name not in found]
    for name, want in expected.items():
        got = found.get(name)
        if got is None:
            continue
        if got.shape != want.shape:
            problems.append(f"tensor {name!r} has shape {_shape(got)}, expected {_shape(want)}")
        if got.dtype != want.dtype:
            problems.append(f"tensor {name!r} has dtype {_dtype(got)}, expected {_dtype(want)}")
    return problems


def _shape(tensor: torch.Tensor) -> str:
    return "(" + ",".join(str(size) for size in tensor.shape) + ")"


def _dtype(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def export_torchscript(model: nn.Module, path: StrPath, input_shape: Sequence[int]) -> Path:
    """Save ``model`` as a TorchScript program (``torch.jit.save``), traced on the CPU."""
    path = Path(path)
    cpu_model = copy.deepcopy(model).cpu().eval()
    example = torch.zeros(1, *input_shape)
    # The design asks for TorchScript, which torch >= 2.9 marks as deprecated in
    # favour of torch.export; the warning is expected here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        program = torch.jit.trace(cpu_model, example)
        torch.jit.save(program, str(path))
    return path
