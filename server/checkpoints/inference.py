"""The checkpoint workload, run inside the sandbox: load a model, run it on the inputs.

Called by the sandbox runner as ``evaluate(args, ready)``. Everything before
``ready`` is the platform's (torch, the inputs' header); everything after
may be the model's, including, for programs, arbitrary code run by the
loader. The results go to the working folder: ``outputs.npy`` (one row per
input) and ``result.json`` (figures, or an ``error`` for the team). The
launcher re-checks both; nothing here is trusted by it.

Only the sandbox process imports this module (by name, through the sandbox's
``entry``), after it has entered its isolation and before its clock starts:
torch and the course's model families load here, never in the server or the
worker that launched it (they import ``server.checkpoints.formats`` for the
file names).
"""

from __future__ import annotations

import errno
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from baselines.models import build_model, parse_config
from server.checkpoints.formats import (
    CONFIG_FILE,
    INPUTS_FILE,
    MAX_PROBLEMS_LISTED,
    MODEL_FILES,
    OUTPUTS_FILE,
    RESULT_FILE,
)
from server.checkpoints.tensors import listed, tensor_problems

MAX_MESSAGE_CHARS = 1000
MB = 1024 * 1024
EXPORT_HINT = (
    " (export the program with a dynamic batch dimension, e.g. "
    "dynamic_shapes={'x': {0: torch.export.Dim.AUTO}})"
)


class ModelFault(Exception):
    """The model misbehaved; the message is for the team."""


def _write_result(result: dict[str, Any]) -> None:
    with open(RESULT_FILE, "w", encoding="utf-8") as handle:
        json.dump(result, handle)


def _describe(error: BaseException, memory_mb: int) -> str:
    """The team's message for an exception; the loaders wrap the real cause, so look inside."""
    cause: BaseException | None = error
    for _ in range(10):
        if cause is None:
            break
        text = str(cause)
        if (
            isinstance(cause, MemoryError)
            or "can't allocate memory" in text
            or ("out of memory" in text.lower())
        ):
            return f"ran out of memory: the limit is {memory_mb} MB"
        if isinstance(cause, OSError) and cause.errno == errno.EFBIG:
            return "wrote a file larger than the size limit"
        cause = cause.__cause__ or cause.__context__
    return f"{type(error).__name__}: {error}"[:MAX_MESSAGE_CHARS]


def evaluate(args: dict[str, Any], ready: Any) -> int:
    """Load ``args['format']`` from the working folder, run it, write the results."""
    threads = int(args["threads"])
    torch.set_num_threads(threads)
    model_format = args["format"]
    use_cuda = bool(args.get("allow_cuda", True)) and torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    _warm_up(torch, device)
    if model_format == "export":
        _preload_export()
    inputs = np.load(INPUTS_FILE, mmap_mode="r", allow_pickle=False)
    ready({"device": str(device), "threads": threads}, limit_address_space=not use_cuda)

    memory_mb = int(args["memory_mb"])
    stage = "the model could not be loaded"
    try:
        started = time.perf_counter()
        model = _load(model_format, device)
        load_seconds = time.perf_counter() - started
        parameter_count = sum(p.numel() for p in model.parameters())
        stage = "the model failed while running"
        if use_cuda:
            torch.cuda.reset_peak_memory_stats()
        batch_size = int(args["batch_size"])
        outputs, (seconds, cpu_seconds), first = _infer(
            model, inputs, batch_size, device, model_format
        )
    except ModelFault as fault:
        _write_result({"error": str(fault)[:MAX_MESSAGE_CHARS]})
        return 1
    except BaseException as error:  # noqa: BLE001 - whatever the model raised is its fault
        message = f"{stage}: {_describe(error, memory_mb)}"
        if model_format == "export" and "Expected input at" in message:
            message += EXPORT_HINT
        _write_result({"error": message[: MAX_MESSAGE_CHARS + len(EXPORT_HINT)]})
        return 1
    np.save(OUTPUTS_FILE, outputs, allow_pickle=False)
    _write_result(
        {
            "parameter_count": int(parameter_count),
            "load_seconds": load_seconds,
            "inference_seconds": seconds,
            "first_batch_seconds": first[0],
            "first_batch_rows": first[1],
            # CPU time of the process (all threads): a steadier figure on a busy host.
            "inference_cpu_seconds": cpu_seconds,
            "first_batch_cpu_seconds": first[2],
            "cuda_peak_mb": torch.cuda.max_memory_allocated() / MB if use_cuda else None,
            "peak_rss_kb": _high_water_kb(),
        }
    )
    return 0


def _preload_export() -> None:
    """torch.export's deserializer, loaded before the clock for export programs only
    (every other format would pay its import time)."""
    import torch._export.serde.serialize  # noqa: F401
    import torch.export  # noqa: F401


def _warm_up(torch: Any, device: Any) -> None:
    """Start the runtime's kernels (CUDA context, cuDNN, cuBLAS) before the model's clock."""
    images = torch.zeros(2, 1, 8, 8, device=device)
    torch.nn.functional.conv2d(images, torch.zeros(4, 1, 3, 3, device=device), padding=1)
    torch.zeros(8, 8, device=device) @ torch.zeros(8, 8, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()


def _high_water_kb() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def load_weights(weights_path: str, config_path: str, device: Any) -> Any:
    """Build the model ``model.json`` describes and load ``model.safetensors`` into it.

    Every tensor must be there, with the name, shape and dtype the architecture
    expects, and nothing else; otherwise ``ValueError`` lists the first problems.
    The words are those of ``baselines.export.load_checkpoint``.
    """
    config_name, weights_name = Path(config_path).name, Path(weights_path).name
    try:
        data = json.loads(Path(config_path).read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{config_name} is not valid JSON: {error}") from None
    try:
        config = parse_config(data)
    except ValueError as error:
        raise ValueError(f"{config_name}: {error}") from None
    try:
        tensors = load_file(weights_path)
    except (SafetensorError, ValueError, TypeError, KeyError, RuntimeError) as error:
        raise ValueError(f"{weights_name} is not a valid safetensors file: {error}") from None
    model = build_model(config)
    problems = tensor_problems(tensors, model.state_dict())
    if problems:
        raise ValueError(
            f"{weights_name} does not fit the {config.family!r} model of {config_name}: "
            + listed(problems, MAX_PROBLEMS_LISTED)
        )
    model.load_state_dict(tensors)
    return model.to(device).eval()


def _load(model_format: str, device: Any) -> Any:
    path = MODEL_FILES[model_format]
    if model_format == "safetensors":
        try:
            return load_weights(path, CONFIG_FILE, device)
        except ValueError as error:
            raise ModelFault(f"the model could not be loaded: {error}") from None
    if model_format == "torchscript":
        return torch.jit.load(path, map_location=device).eval()
    program = torch.export.load(path).module()
    return program.to(device)


def _infer(
    model: Any, inputs: Any, batch_size: int, device: Any, model_format: str
) -> tuple[Any, tuple[float, float], tuple[float, int, float]]:
    """Outputs for every input row, in order; the wall and CPU seconds it took; the first
    batch's wall seconds, rows and CPU seconds.

    The first batch also pays for the model's own start (lazy kernels, cuDNN
    algorithm search): the launcher counts it as a fixed cost, apart from
    the throughput.
    """
    count = len(inputs)
    outputs: np.ndarray | None = None
    # The course models take pixels in [0, 1]; uint8 inputs are scaled for them.
    scale = model_format == "safetensors" and inputs.dtype == np.uint8
    first = (0.0, 0, 0.0)
    started, started_cpu = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        for start in range(0, count, batch_size):
            # A writable copy of the rows: the model may not scribble on the shared inputs.
            batch = torch.from_numpy(np.array(inputs[start : start + batch_size]))
            batch = batch.to(device)
            if scale:
                batch = batch.float() / 255.0
            result = model(batch)
            if not isinstance(result, torch.Tensor):
                raise ModelFault(
                    f"the model returned a {type(result).__name__}; it must return one tensor"
                )
            rows = len(batch)
            if result.ndim not in (1, 2) or result.shape[0] != rows:
                raise ModelFault(
                    f"for a batch of {rows} inputs the model returned shape "
                    f"{tuple(result.shape)}; expected ({rows}, classes) or ({rows},)"
                )
            if result.is_complex() or result.dtype == torch.bool:
                raise ModelFault(f"the model returned {result.dtype}; expected numbers")
            if result.is_floating_point():
                if result.dtype not in (torch.float32, torch.float64):
                    result = result.float()
            else:
                result = result.long()
            host = result.detach().cpu().numpy()
            if outputs is None:
                outputs = np.empty((count, *host.shape[1:]), dtype=host.dtype)
            elif host.shape[1:] != outputs.shape[1:] or host.dtype != outputs.dtype:
                raise ModelFault(
                    f"the model's output changed from {outputs.dtype} {outputs.shape[1:]} to "
                    f"{host.dtype} {host.shape[1:]} between batches"
                )
            outputs[start : start + rows] = host
            if start == 0:
                first = (time.perf_counter() - started, rows, time.process_time() - started_cpu)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - started_cpu
    if outputs is None:
        outputs = np.empty((0,), dtype=np.float32)
    return outputs, (seconds, cpu_seconds), first
