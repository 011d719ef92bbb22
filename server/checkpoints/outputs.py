"""What comes out of the sandbox, checked: how the run ended, the outputs, the predictions.

Nothing the model wrote is trusted: the result file is read as plain JSON,
the outputs as a plain ``.npy`` array (rows, shape, dtype, NaN), then turned
into predictions aligned with the solution for the scoring core. The labels
never enter the sandbox.
"""

from __future__ import annotations

import io
import json
import re
import signal
from typing import Any

import numpy as np

from server.challenges.schemas import CheckpointSpec
from server.checkpoints.program_errors import program_error_line
from server.sandbox.launcher import SandboxLimits, SandboxRun
from server.scoring.metrics import get_metric
from server.scoring.solution import Solution

MB = 1024 * 1024
MAX_MESSAGE_CHARS = 1000
ROWS_LISTED = 3
# Rows already holding a probability distribution are used as they are, not softmaxed.
PROBABILITY_TOLERANCE = 1e-4


class CheckpointError(Exception):
    """The model failed; the message is shown to the team (and the attempt counts).

    ``detail``: text a program chose (its exception message), for the organizers
    only; the message itself is the platform's (``checkpoints.program_errors``).
    """

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail


def _number(value: object) -> float:
    # Figures reported from inside the sandbox: plausible numbers only.
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1e9:
        return float(value)
    return 0.0


def _read_result(raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        result = json.loads(raw)
    except ValueError:
        return {}
    return result if isinstance(result, dict) else {}


def _clean(message: object) -> str:
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", str(message))
    return text[:MAX_MESSAGE_CHARS]


def _raise_for_failure(
    run: SandboxRun,
    result: dict[str, Any],
    spec: CheckpointSpec,
    limits: SandboxLimits,
    program: bool = True,
) -> None:
    """Turn how the run ended into the team's error message (or nothing, if it went well).

    ``program``: the model is a program of the team's (not ``.safetensors``): the
    text it left in the result file is for the organizers only.
    """
    if run.killed_for == "time":
        raise CheckpointError(
            f"the model exceeded the {spec.time_limit_seconds} s limit (loading and inference)"
        )
    if run.killed_for == "disk":
        raise CheckpointError(
            f"the model wrote more than {limits.disk_bytes // MB} MB into its working folder"
        )
    if run.signal is not None:
        if run.signal == signal.SIGXFSZ:
            raise CheckpointError(
                f"the model wrote a file larger than the {limits.file_size_bytes // MB} MB limit"
            )
        if run.signal == signal.SIGXCPU:
            raise CheckpointError(
                f"the model used more than its {limits.cpu_seconds:g} s of CPU time"
            )
        if run.signal == signal.SIGKILL:
            raise CheckpointError(
                "the model's process was killed (most likely it ran out of memory: the limit "
                f"is {spec.memory_limit_mb} MB)"
            )
        name = signal.Signals(run.signal).name if run.signal in signal.valid_signals() else ""
        raise CheckpointError(f"the model crashed (signal {run.signal} {name})".strip())
    if run.exit_code != 0:
        if "error" in result:
            text = _clean(result["error"])
            if program:
                raise CheckpointError(program_error_line(text, spec.memory_limit_mb), text)
            raise CheckpointError(text)
        raise CheckpointError(f"the model's process exited with status {run.exit_code}")


def check_outputs(raw: bytes | None, rows: int, program: bool = True) -> np.ndarray:
    """The outputs file as an array of ``rows`` finite numbers per row (CheckpointError).

    ``program``: a program wrote the file, so numpy's complaint about its header
    (which quotes the header) is for the organizers only.
    """
    if raw is None:
        raise CheckpointError("the model produced no outputs")
    try:
        handle = io.BytesIO(raw)
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise ValueError(f"npy version {version}")
        if dtype.hasobject or dtype.kind not in "fiu":
            raise ValueError(f"dtype {dtype}")
        body = raw[handle.tell() :]
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if count * dtype.itemsize != len(body):
            raise ValueError("size mismatch")
        outputs = np.frombuffer(body, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    except (ValueError, TypeError, OverflowError) as error:
        if program:
            raise CheckpointError(
                "the model's outputs are unreadable (not one numeric array saved by numpy.save)",
                _clean(error),
            ) from None
        raise CheckpointError(f"the model's outputs are unreadable ({_clean(error)})") from None
    if outputs.ndim not in (1, 2) or outputs.shape[0] != rows:
        raise CheckpointError(
            f"output shape {outputs.shape}, expected ({rows}, classes) or ({rows},)"
        )
    if outputs.dtype.kind == "f":
        bad = ~np.isfinite(outputs)
        if outputs.ndim == 2:
            bad = bad.any(axis=1)
        if bad.any():
            first = np.flatnonzero(bad)[:ROWS_LISTED]
            raise CheckpointError(
                f"the model's outputs hold NaN or infinite values on {int(bad.sum())} of "
                f"{rows} inputs (rows {', '.join(str(r) for r in first)}...)"
            )
    return outputs


def predictions_from_outputs(outputs: np.ndarray, solution: Solution, metric: str) -> np.ndarray:
    """Outputs aligned with ``solution.ids`` as the scoring core wants them.

    Column ``j`` of ``(N, C)`` outputs, and class id ``j`` of ``(N,)`` ones,
    mean the ``j``-th class of the challenge's sorted class list. ``(N, C)``
    scores are logits: argmax for label metrics, softmax for probability
    metrics (rows that already are probability distributions stay as they
    are). Value metrics take ``(N,)`` or ``(N, 1)``.
    """
    scorer = get_metric(metric)
    rows = len(solution)
    if scorer.prediction_format == "value":
        if outputs.ndim == 2 and outputs.shape[1] == 1:
            outputs = outputs[:, 0]
        if outputs.ndim != 1:
            raise CheckpointError(f"output shape {outputs.shape}, expected ({rows},)")
        return outputs.astype(np.float64)
    classes = np.asarray(solution.classes)
    count = len(classes)
    if outputs.ndim == 2:
        if outputs.shape[1] != count:
            raise CheckpointError(f"output shape {outputs.shape}, expected ({rows}, {count})")
        if scorer.prediction_format == "label":
            return classes[np.argmax(outputs, axis=1)]
        probabilities = _probabilities(outputs.astype(np.float64))
        return probabilities[:, 1] if count == 2 else probabilities
    if scorer.prediction_format == "probability":
        if count != 2:
            raise CheckpointError(f"output shape {outputs.shape}, expected ({rows}, {count})")
        return outputs.astype(np.float64)  # P(positive class); the scoring core checks [0, 1]
    ids = outputs
    if ids.dtype.kind == "f":
        if not np.array_equal(ids, np.round(ids)):
            raise CheckpointError(
                f"output shape {outputs.shape} holds fractions; class ids must be whole numbers"
            )
        ids = ids.astype(np.int64)
    bad = np.flatnonzero((ids < 0) | (ids >= count))
    if len(bad):
        raise CheckpointError(
            f"class ids must be 0..{count - 1}; row {int(bad[0])} is {ids[bad[0]]}"
            + (f" (and {len(bad) - 1} more rows)" if len(bad) > 1 else "")
        )
    return classes[ids]


def _probabilities(scores: np.ndarray) -> np.ndarray:
    sums = scores.sum(axis=1)
    if scores.min() >= 0 and np.allclose(sums, 1.0, atol=PROBABILITY_TOLERANCE):
        return scores
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
