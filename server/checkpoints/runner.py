"""Checkpoint submissions: evaluate in the sandbox, score in this process.

The model runs in :mod:`server.sandbox` on the hidden inputs only; its
outputs come back as an array, are checked here (rows, shape, dtype, NaN),
turned into predictions aligned with the solution, and scored by the same
core as CSV files. The labels never enter the sandbox.

Two kinds of failure:

- ``CheckpointError`` (``server.checkpoints.outputs``): the model's fault (crash,
  timeout, memory, wrong shape, NaN); the message is shown to the team and the attempt counts
  against its daily limit;
- anything else (:class:`~server.sandbox.launcher.SandboxError`, a missing
  file, a bug of ours): a platform error, which does not count.

torch is never imported here: only the sandbox process loads it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from server.challenges.schemas import CheckpointSpec
from server.checkpoints.formats import (
    CONFIG_FILE,
    INPUTS_FILE,
    MODEL_FILES,
    OUTPUTS_FILE,
    RESULT_FILE,
    CheckpointFileError,
    ModelFormat,
    detect_format,
)
from server.checkpoints.outputs import (
    CheckpointError,
    _number,
    _raise_for_failure,
    _read_result,
    check_outputs,
    predictions_from_outputs,
)
from server.checkpoints.program_errors import shown_to_team
from server.config import Settings, get_settings
from server.db import session_scope
from server.filemodes import sqlite_path
from server.models import Challenge, Submission
from server.queue.state import Attempt, record
from server.sandbox.launcher import Sandbox, SandboxLimits
from server.scoring.outcome import Outcome, safe_bootstrap
from server.scoring.predictions import PredictionError, score_predictions
from server.scoring.solution import load_solution
from server.storage import get_blob_store

__all__ = [
    "CheckpointError",
    "CheckpointResult",
    "check_outputs",
    "checkpoint_outcome",
    "evaluate_checkpoint",
    "predictions_from_outputs",
    "run_checkpoint_attempt",
]

log = logging.getLogger(__name__)

WORKLOAD = "server.checkpoints.inference:evaluate"
# What the sandbox must be able to import: the workload and the course's model families.
SANDBOX_PACKAGES = ("server", "baselines")
MB = 1024 * 1024
# Output cap: room for float64 scores over 1,000 classes per input, plus slack.
OUTPUT_BYTES_PER_ROW = 8 * 1000
OUTPUT_SLACK_BYTES = 64 * MB
CPU_SECONDS_SLACK = 10


@dataclass(frozen=True)
class CheckpointResult:
    """A model's outputs on the hidden inputs, with its efficiency figures."""

    outputs: np.ndarray
    parameter_count: int | None
    inference_seconds_per_1k: float
    peak_memory_mb: float
    device: str = "cpu"
    load_seconds: float = 0.0
    inference_seconds: float = 0.0  # the whole loop over the inputs
    first_batch_seconds: float = 0.0  # part of it: the first batch, with the model's warm-up
    steady_cpu_seconds_per_row: float = 0.0  # CPU time per input after the first batch
    startup_seconds: float = 0.0

    def metrics(self) -> dict[str, float | int]:
        """The figures stored on the submission (``Submission`` columns)."""
        figures: dict[str, float | int] = {
            "inference_seconds_per_1k": round(self.inference_seconds_per_1k, 6),
            "peak_memory_mb": round(self.peak_memory_mb, 3),
        }
        if self.parameter_count is not None:
            figures["parameter_count"] = self.parameter_count
        return figures


def sandbox_limits(spec: CheckpointSpec, rows: int, threads: int) -> SandboxLimits:
    """The sandbox limits for a challenge's spec and ``rows`` hidden inputs."""
    output_bytes = OUTPUT_SLACK_BYTES + rows * OUTPUT_BYTES_PER_ROW
    return SandboxLimits(
        wall_seconds=spec.time_limit_seconds,
        memory_mb=spec.memory_limit_mb,
        cpu_seconds=spec.time_limit_seconds * threads + CPU_SECONDS_SLACK,
        file_size_bytes=output_bytes,
        disk_bytes=2 * output_bytes,
        processes=64 + 4 * threads,
    )


def hidden_folders(settings: Settings) -> list[Path]:
    """Folders the sandbox must not see: the data folder (database, blobs), the worker
    cache, and the folder of a SQLite database that lives elsewhere."""
    folders = [settings.data_dir]
    if settings.worker_cache_dir is not None:
        folders.append(settings.worker_cache_dir)
    database = sqlite_path(settings.sqlalchemy_url)
    if database is not None:  # a SQLite database outside the data folder: hide its folder,
        folder = database.parent.resolve()  # unless the sandbox needs what is in it (code)
        needed = [Path(sys.prefix).resolve(), Path(__file__).resolve()]
        if not any(path.is_relative_to(folder) for path in needed):
            folders.append(folder)
    return folders


def evaluate_checkpoint(
    model_path: Path | str,
    model_format: ModelFormat | None,
    config_path: Path | str | None,
    inputs_path: Path | str,
    spec: dict[str, Any] | CheckpointSpec,
) -> CheckpointResult:
    """Run a checkpoint on the hidden inputs in the sandbox; return its checked outputs.

    ``model_format`` None: decided from the file's bytes. Raises
    :class:`CheckpointError` for the model's faults, anything else for ours.
    """
    settings = get_settings()
    spec = spec if isinstance(spec, CheckpointSpec) else CheckpointSpec.model_validate(spec)
    try:
        model_format = model_format or detect_format(Path(model_path))
    except CheckpointFileError as error:
        raise CheckpointError(str(error)) from None
    if model_format not in spec.formats:
        raise CheckpointError(f"this challenge no longer accepts {model_format} checkpoints")
    if model_format == "safetensors" and config_path is None:
        raise CheckpointError("a .safetensors checkpoint needs its model config")
    rows = _rows(Path(inputs_path))
    program = model_format != "safetensors"
    with Sandbox(
        require_isolation=program and settings.sandbox_require_isolation,
        hide=hidden_folders(settings),
        packages=SANDBOX_PACKAGES,
    ) as box:
        limits = sandbox_limits(spec, rows, box.threads)
        box.add_file(model_path, MODEL_FILES[model_format])
        if config_path is not None and model_format == "safetensors":
            box.add_file(config_path, CONFIG_FILE)
        box.add_file(inputs_path, INPUTS_FILE)
        run = box.run(
            WORKLOAD,
            {
                "format": model_format,
                "threads": box.threads,
                "batch_size": spec.batch_size,
                "memory_mb": spec.memory_limit_mb,
                "allow_cuda": True,
            },
            limits,
        )
        result = _read_result(box.open_output(RESULT_FILE, 64 * 1024))
        _raise_for_failure(run, result, spec, limits, program)
        raw = box.open_output(OUTPUTS_FILE, limits.file_size_bytes)
    outputs = check_outputs(raw, rows, program)
    seconds = _number(result.get("inference_seconds"))
    first_seconds = min(_number(result.get("first_batch_seconds")), seconds)
    first_rows = int(_number(result.get("first_batch_rows")))
    # Throughput in the steady state: the first batch is a fixed cost (kernels, cuDNN).
    if 0 < first_rows < rows and seconds > first_seconds:
        per_row = (seconds - first_seconds) / (rows - first_rows)
    else:
        per_row = seconds / rows if rows else 0.0
    cpu_seconds = _number(result.get("inference_cpu_seconds"))
    first_cpu = min(_number(result.get("first_batch_cpu_seconds")), cpu_seconds)
    steady_cpu = (cpu_seconds - first_cpu) / (rows - first_rows) if 0 < first_rows < rows else 0.0
    cuda_peak = result.get("cuda_peak_mb")
    # The launcher samples the peak; the model's own report (trusted only
    # upwards: a program could lie) catches a peak between two samples.
    peak_kb = max(run.peak_rss_kb, int(_number(result.get("peak_rss_kb"))))
    host_peak_mb = max(0, peak_kb - run.runtime_rss_kb) / 1024
    parameters = result.get("parameter_count")
    return CheckpointResult(
        outputs=outputs,
        parameter_count=parameters
        if isinstance(parameters, int) and not isinstance(parameters, bool) and parameters >= 0
        else None,
        inference_seconds_per_1k=per_row * 1000,
        peak_memory_mb=_number(cuda_peak) if cuda_peak is not None else host_peak_mb,
        device=str(run.ready.get("device", "cpu")),
        load_seconds=_number(result.get("load_seconds")),
        inference_seconds=seconds,
        first_batch_seconds=first_seconds,
        steady_cpu_seconds_per_row=steady_cpu,
        startup_seconds=run.startup_seconds,
    )


def _rows(inputs_path: Path) -> int:
    array = np.load(inputs_path, mmap_mode="r", allow_pickle=False)
    return int(array.shape[0])


def checkpoint_outcome(
    checkpoint: Path,
    config: Path | None,
    hidden_inputs: Path,
    solution: Path,
    solution_sha256: str,
    metric: str,
    spec: dict[str, Any],
    file_name: str | None = None,
    extra_metrics: Sequence[str] = (),
) -> Outcome:
    """Evaluate and score a checkpoint from plain files (both transports end here)."""
    try:
        model_format = detect_format(checkpoint, file_name)
        result = evaluate_checkpoint(checkpoint, model_format, config, hidden_inputs, spec)
        parsed = load_solution(solution, metric, solution_sha256)
        aligned = predictions_from_outputs(result.outputs, parsed, metric)
        scores = score_predictions(aligned, parsed, metric, extra_metrics)
    except CheckpointError as error:
        shown = shown_to_team(str(error), error.detail, _shows_program_errors(spec))
        return Outcome(error=shown, error_detail=error.detail)
    except (CheckpointFileError, PredictionError) as error:
        return Outcome(error=str(error))
    except Exception:
        log.exception("evaluating checkpoint %s failed", checkpoint.name)
        return Outcome.platform_failure()
    return Outcome(
        scores=scores,
        metrics=result.metrics(),
        # Computed here: only the runner holds a checkpoint's aligned predictions.
        public_bootstrap=safe_bootstrap(aligned, parsed, metric, solution_sha256),
    )


def _shows_program_errors(spec: dict[str, Any]) -> bool:
    try:
        return CheckpointSpec.model_validate(spec).show_program_errors
    except ValueError:
        return False


def run_checkpoint_attempt(attempt: Attempt, settings: Settings | None = None) -> bool:
    """The embedded transport: evaluate a claimed checkpoint submission and record it."""
    settings = settings or get_settings()
    store = get_blob_store(settings)
    try:
        with session_scope(settings) as session:
            submission = session.get(Submission, attempt.submission_id)
            assert submission is not None
            challenge = session.get(Challenge, submission.challenge_id)
            assert challenge is not None
            if challenge.solution_sha256 is None or challenge.hidden_inputs_sha256 is None:
                raise RuntimeError(f"challenge {challenge.slug} lacks a solution or hidden inputs")
            files = {
                "checkpoint": store.path_for(submission.file_sha256),
                "config": store.path_for(submission.config_sha256)
                if submission.config_sha256
                else None,
                "hidden_inputs": store.path_for(challenge.hidden_inputs_sha256),
                "solution": store.path_for(challenge.solution_sha256),
            }
            solution_sha256, metric = challenge.solution_sha256, challenge.metric
            extra_metrics = list(challenge.extra_metrics or [])
            spec, file_name = dict(challenge.checkpoint_spec or {}), submission.file_name
    except Exception:
        log.exception("loading checkpoint job %s failed", attempt.submission_id)
        return record(attempt, Outcome.platform_failure(), settings)
    outcome = checkpoint_outcome(
        files["checkpoint"],  # type: ignore[arg-type]
        files["config"],
        files["hidden_inputs"],  # type: ignore[arg-type]
        files["solution"],  # type: ignore[arg-type]
        solution_sha256,
        metric,
        spec,
        file_name=file_name,
        extra_metrics=extra_metrics,
    )
    return record(attempt, outcome, settings)
