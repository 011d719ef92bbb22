"""Checkpoint evaluation: the sandbox against a plain in-process torch loop, same run.

    .venv/bin/python -m benchmarks.checkpoints [--repeat 3] [--rows 10000] [--cpus N]

(``-m`` from the repository root: ``benchmarks/baselines.py`` would shadow the
``baselines`` package if the script's own folder came first on the path.)

The CNN baseline (``baselines.models``, default hyper-parameters, seeded
weights) on the 10,000 MNIST test images of ``server/demo/mnist``, float32
(N, 1, 28, 28), batch size 256, on CUDA when present (both sides), else the
CPU with every core (both sides). Measured alternately, after one warm-up
each, so that a busy machine slows both sides alike:

- in-process: ``model(batch)`` under ``torch.inference_mode()`` over the
  same memory-mapped ``.npy`` slices the sandbox reads;
- sandboxed: ``evaluate_checkpoint`` (a new process, isolation, torch
  import, model load, inference, outputs checked) for the weights-only
  format, TorchScript and torch.export.

Throughput compares the inference loops in their steady state (target:
sandbox >= 0.8x): the in-process loop is warm, and the sandbox's first batch,
which also pays for the model's own warm-up (lazy kernels, cuDNN), is counted
with the fixed cost of a job, printed apart: process start and torch import,
model load, first batch, the rest (copying inputs, isolation, reading outputs).
Run as root for the full isolation the worker uses in production.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PODIUM_DATA_DIR", tempfile.mkdtemp(prefix="podium-bench-data-"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from baselines.export import save_checkpoint  # noqa: E402
from baselines.models import build_model, parse_config  # noqa: E402
from server.checkpoints.runner import CheckpointResult, evaluate_checkpoint  # noqa: E402
from server.demo import hidden_inputs_npy  # noqa: E402

BATCH_SIZE = 256
SPEC = {
    "formats": ["safetensors", "torchscript", "export"],
    "batch_size": BATCH_SIZE,
    "time_limit_seconds": 600,
    "memory_limit_mb": 8192,
}


def in_process(
    model: torch.nn.Module, inputs_path: Path, device: torch.device
) -> tuple[float, float]:
    """Wall and CPU seconds of the plain loop over every input (outputs copied back, as the
    sandbox does)."""
    inputs = np.load(inputs_path, mmap_mode="r")
    outputs = np.empty((len(inputs), 10), dtype=np.float32)
    started, started_cpu = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        for start in range(0, len(inputs), BATCH_SIZE):
            batch = torch.from_numpy(np.array(inputs[start : start + BATCH_SIZE]))
            result = model(batch.to(device))
            outputs[start : start + len(batch)] = result.cpu().numpy()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started, time.process_time() - started_cpu


EXPORT_CODE = """
import sys, warnings
import torch
from baselines.export import export_torchscript, load_checkpoint, read_config
weights, config_path, folder = sys.argv[1:]
model = load_checkpoint(weights, config_path)
shape = read_config(config_path).input_shape
warnings.simplefilter("ignore")
export_torchscript(model, f"{folder}/model.pt", shape)
batch = torch.export.Dim("batch")
program = torch.export.export(model, (torch.zeros(4, *shape),), dynamic_shapes={"x": {0: batch}})
torch.export.save(program, f"{folder}/model.pt2")
"""


def export_programs(weights: Path, config: Path, folder: Path) -> tuple[Path, Path]:
    """TorchScript and torch.export programs of the same weights, made in another process.

    Tracing and exporting leave global state behind (dynamo, fake tensors):
    this process stays a plain PyTorch process, for a fair reference loop.
    """
    command = [sys.executable, "-c", EXPORT_CODE, str(weights), str(config), str(folder)]
    subprocess.run(command, check=True)
    return folder / "model.pt", folder / "model.pt2"


def sandboxed(
    model_path: Path, model_format: str, config: Path | None, inputs_path: Path
) -> tuple[CheckpointResult, float]:
    started = time.perf_counter()
    result = evaluate_checkpoint(model_path, model_format, config, inputs_path, SPEC)  # type: ignore[arg-type]
    return result, time.perf_counter() - started


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--cpus", type=int, help="pin both sides to the first N cores")
    options = parser.parse_args()
    if options.cpus:  # a steadier figure on a busy host; the sandbox inherits the affinity
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: options.cpus])

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    folder = Path(tempfile.mkdtemp(prefix="podium-bench-ckpt-"))
    images = np.load(io.BytesIO(hidden_inputs_npy()))[: options.rows]
    inputs_path = folder / "inputs.npy"
    np.save(inputs_path, images)

    torch.manual_seed(0)
    config = parse_config({"family": "cnn"})
    model = build_model(config).eval()
    weights, config_path = save_checkpoint(model, config, folder)
    torchscript, program = export_programs(weights, config_path, folder)
    model = model.to(device)
    rows = len(images)
    name = torch.cuda.get_device_name() if device.type == "cuda" else _cpu_name()
    print(f"CNN baseline ({sum(p.numel() for p in model.parameters()):,} parameters), ", end="")
    print(f"{rows:,} MNIST test images, batch {BATCH_SIZE}, device {device} ({name}), ", end="")
    print(f"{threads} threads, root={os.geteuid() == 0}")

    formats = [
        ("safetensors", weights, config_path),
        ("torchscript", torchscript, None),
        ("export", program, None),
    ]
    in_process(model, inputs_path, device)  # warm-up
    for model_format, path, config_file in formats:
        sandboxed(path, model_format, config_file, inputs_path)  # warm-up (page cache)
    loop_seconds: list[tuple[float, float]] = []
    results: dict[str, list[tuple[CheckpointResult, float]]] = {f: [] for f, _, _ in formats}
    for _ in range(options.repeat):
        for model_format, path, config_file in formats:
            loop_seconds.append(in_process(model, inputs_path, device))
            results[model_format].append(sandboxed(path, model_format, config_file, inputs_path))

    loop = statistics.median(wall for wall, _ in loop_seconds)
    loop_cpu = statistics.median(cpu for _, cpu in loop_seconds) / rows
    print(f"\nin-process loop: {loop:.3f} s, {rows / loop:,.0f} images/s", end="")
    print(f" (median of {len(loop_seconds)}); CPU time {loop_cpu * rows:.3f} s")
    print("sandboxed     images/s  vs loop | fixed cost per job:", end="")
    print(" start+import  load  1st batch  other | total | vs loop in CPU time")
    for model_format, runs in results.items():
        per_image = statistics.median(r.inference_seconds_per_1k / 1000 for r, _ in runs)
        cpu_per_image = statistics.median(r.steady_cpu_seconds_per_row for r, _ in runs)
        startup = statistics.median(r.startup_seconds for r, _ in runs)
        load = statistics.median(r.load_seconds for r, _ in runs)
        first = statistics.median(r.first_batch_seconds for r, _ in runs)
        total = statistics.median(t for _, t in runs)
        other = statistics.median(
            t - r.startup_seconds - r.load_seconds - r.inference_seconds for r, t in runs
        )
        print(
            f"{model_format:<12} {1 / per_image:>9,.0f}  {loop / rows / per_image:>6.2f}x |"
            f"{startup:>28.2f} s {load:>5.2f} s {first:>7.3f} s {other:>6.2f} s |"
            f" {total:.2f} s  ({runs[0][0].device}, peak +{runs[0][0].peak_memory_mb:.0f} MB)"
            f" | {loop_cpu / cpu_per_image:.2f}x"
        )


if __name__ == "__main__":
    main()
