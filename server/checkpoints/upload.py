"""Checkpoint submissions at upload: is this checkpoint plausible for this challenge?

What is knowable at upload is refused here with a 422, before any quota is
taken: a format the challenge does not allow, a file that is not what its
name says, a malformed safetensors header, a model config that names an
unknown family or does not fit the challenge, tensors that do not fit the
architecture the config describes. The files are read as data only
(``server.checkpoints.formats``).
"""

from __future__ import annotations

import logging
from typing import Any, BinaryIO

from server.challenges.schemas import CheckpointSpec
from server.checkpoints.formats import (
    FORMAT_LABELS,
    MAX_CONFIG_BYTES,
    MAX_PROBLEMS_LISTED,
    CheckpointFileError,
    TensorInfo,
    _quoted,
    detect_format,
    read_config,
    read_safetensors_header,
)
from server.checkpoints.tensors import tensor_problems
from server.exceptions import Conflict, Invalid
from server.models import Challenge
from server.scoring.metrics import get_metric
from server.scoring.solution import load_solution
from server.storage import BlobStore, StoredBlob

log = logging.getLogger(__name__)


def check_weights(
    tensors: dict[str, TensorInfo],
    config_data: dict[str, Any],
    spec: CheckpointSpec,
    classes: list[Any] | None,
    metric: str,
    weights_name: str = "model.safetensors",
) -> None:
    """Does the config fit the challenge, and do the tensors fit the config?

    Needs ``baselines.models`` (and so torch). Without torch on this host the
    architecture check is left to the worker, which runs it before any
    inference.
    """
    try:
        import torch

        from baselines.models import build_model, parse_config
    except ImportError:
        log.info("torch is not installed here: the worker checks the weights' architecture")
        return
    try:
        config = parse_config(config_data)
    except ValueError as error:
        raise CheckpointFileError(f"model config: {error}") from None
    if list(config.input_shape) != list(spec.input_shape):
        raise CheckpointFileError(
            f"model config: input_shape {list(config.input_shape)} does not match this "
            f"challenge's inputs, {list(spec.input_shape)}"
        )
    if get_metric(metric).prediction_format == "value":
        raise CheckpointFileError(
            f"this challenge's metric ({metric}) needs one number per input, and the course "
            "models are classifiers; submit a program (TorchScript or torch.export) if the "
            "challenge allows them"
        )
    if classes is not None and config.num_classes != len(classes):
        raise CheckpointFileError(
            f"model config: num_classes is {config.num_classes} but this challenge has "
            f"{len(classes)} classes"
        )
    with torch.device("meta"):
        expected = build_model(config).state_dict()
    found = {
        tensor_name: torch.empty(info.shape, dtype=getattr(torch, info.torch_dtype), device="meta")
        for tensor_name, info in tensors.items()
        if hasattr(torch, info.torch_dtype)
    }
    problems = tensor_problems(found, expected)
    problems += [
        f"tensor {_quoted(n)} has dtype {i.dtype}, which this PyTorch cannot load"
        for n, i in tensors.items()
        if n not in found
    ]
    if problems:
        listed = problems[:MAX_PROBLEMS_LISTED]
        if len(problems) > len(listed):
            listed.append(f"and {len(problems) - len(listed)} more")
        raise CheckpointFileError(
            f"{weights_name} does not fit the {config.family!r} model of the config: "
            + "; ".join(listed)
        )


def challenge_spec(challenge: Challenge) -> CheckpointSpec:
    """The challenge's checkpoint spec, defaults filled in."""
    return CheckpointSpec.model_validate(challenge.checkpoint_spec or {})


def validate_checkpoint_upload(
    challenge: Challenge,
    blob: StoredBlob,
    config_file: BinaryIO | None,
    file_name: str,
    store: BlobStore,
) -> str | None:
    """Refuse (422) a checkpoint that cannot be evaluated; store its config.

    Returns the sha256 of the stored model config (weights-only checkpoints),
    None for programs.
    """
    if challenge.hidden_inputs_sha256 is None:
        raise Conflict("this challenge has no hidden inputs yet; checkpoints cannot be scored")
    spec = challenge_spec(challenge)
    try:
        model_format = detect_format(blob.path, file_name)
        if model_format not in spec.formats:
            allowed = ", ".join(FORMAT_LABELS[f] for f in spec.formats)
            raise CheckpointFileError(
                f"this challenge does not accept a {FORMAT_LABELS[model_format]}; "
                f"it accepts: {allowed}"
            )
        if model_format != "safetensors":
            if config_file is not None:
                raise CheckpointFileError(
                    f"a {FORMAT_LABELS[model_format]} carries its own architecture; "
                    "send a model config only with .safetensors weights"
                )
            return None
        if config_file is None:
            raise CheckpointFileError(
                f"{file_name} holds weights only: send its model config (model.json, written "
                "by baselines.export.save_checkpoint) as the multipart field 'config'"
            )
        config_bytes = config_file.read(MAX_CONFIG_BYTES + 1)
        config_data = read_config(config_bytes)
        tensors = read_safetensors_header(blob.path, file_name)
        classes = None
        if challenge.solution_sha256 is not None and get_metric(challenge.metric).needs_classes:
            solution = load_solution(
                store.path_for(challenge.solution_sha256),
                challenge.metric,
                challenge.solution_sha256,
            )
            classes = solution.classes
        check_weights(tensors, config_data, spec, classes, challenge.metric, file_name)
    except CheckpointFileError as error:
        raise Invalid(f"checkpoint rejected: {error}") from None
    return store.put_bytes(config_bytes).sha256
