"""The checkpoint evaluation on CUDA against a plain PyTorch loop: throughput ratio (>= 0.8x).

    python -m benchmarks.gpu_eval                 # --rows 100000 --repeat 5 --batch-size 256

(``-m`` from the repository root, as ``benchmarks/checkpoints.py``.) Without a
CUDA GPU it prints why it skipped and exits 0; ``--cpu`` runs the same
comparison on the CPU, which checks the script, not the target.

The CNN baseline (default hyper-parameters, seeded weights) as a weights-only
checkpoint, on the 10,000 MNIST test images of ``server/demo/mnist`` repeated
to ``--rows`` rows (float32, (N, 1, 28, 28); on a GPU, 10,000 rows take a few
tens of milliseconds, too little to time). Measured alternately, each after
one warm-up, ``--repeat`` times:

- the plain loop, in this process: ``model(batch)`` under
  ``torch.inference_mode()`` over slices of the memory-mapped ``.npy`` file,
  each batch copied to the GPU and its outputs back, as the sandbox does;
- the checkpoint evaluation: ``evaluate_checkpoint``, which the worker runs
  (a new sandboxed process: isolation, torch and CUDA start, model load,
  inference, outputs checked). Its throughput is the steady state, after the
  first batch (which pays for the model's own warm-up and is printed apart
  with the other fixed costs of a job).

It prints both throughputs (medians), their ratio and the fixed costs. Run it
as root for the isolation the worker uses in production.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Settings are read at import: keep this run's data folder apart from any real one.
os.environ.setdefault("PODIUM_DATA_DIR", tempfile.mkdtemp(prefix="podium-bench-data-"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from baselines.data import TEST_IMAGES, read_images, to_float  # noqa: E402
from baselines.export import save_checkpoint  # noqa: E402
from baselines.models import build_model, parse_config  # noqa: E402

try:  # the checkpoint package of the architecture issue (#19)
    from server.checkpoints.runner import CheckpointResult, evaluate_checkpoint
except ImportError:  # before it
    from server.checkpoints.runner import CheckpointResult, evaluate_checkpoint

REPO = Path(__file__).resolve().parents[1]
DEMO_MNIST = REPO / "server" / "demo" / "mnist"
TARGET_RATIO = 0.8


def make_inputs(rows: int, path: Path) -> Path:
    """The MNIST test images as float32 in [0, 1], repeated to ``rows`` rows, saved as .npy."""
    images = to_float(read_images(DEMO_MNIST / TEST_IMAGES)).numpy()
    repeats = -(-rows // len(images))  # ceiling division
    np.save(path, np.concatenate([images] * repeats)[:rows])
    return path


def plain_loop(
    model: torch.nn.Module, inputs_path: Path, device: torch.device, batch_size: int
) -> tuple[float, np.ndarray]:
    """Seconds of a plain inference loop over every input, and its outputs."""
    inputs = np.load(inputs_path, mmap_mode="r")
    outputs = np.empty((len(inputs), 10), dtype=np.float32)
    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(inputs), batch_size):
            batch = torch.from_numpy(np.array(inputs[start : start + batch_size])).to(device)
            outputs[start : start + len(batch)] = model(batch).cpu().numpy()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started, outputs


def sandboxed(
    weights: Path, config: Path, inputs_path: Path, batch_size: int
) -> tuple[CheckpointResult, float]:
    """The worker's evaluation of the checkpoint, and its seconds from call to return."""
    spec = {
        "formats": ["safetensors"],
        "batch_size": batch_size,
        "time_limit_seconds": 600,
        "memory_limit_mb": 16384,
    }
    started = time.perf_counter()
    result = evaluate_checkpoint(weights, "safetensors", config, inputs_path, spec)
    return result, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--cpu", action="store_true", help="without CUDA: run on the CPU (checks the script)"
    )
    options = parser.parse_args()
    if torch.cuda.is_available():
        if options.cpu:
            parser.error("--cpu is for machines without CUDA: the sandbox would use the GPU")
        device = torch.device("cuda")
        name = torch.cuda.get_device_name()
    elif options.cpu:
        device, name = torch.device("cpu"), "a check of the script, not of the GPU target"
    else:
        print(
            f"SKIPPED: no CUDA GPU here (torch {torch.__version__}, "
            f"built for CUDA {torch.version.cuda}); this measures the checkpoint evaluation "
            "on a GPU: run `python -m benchmarks.gpu_eval` on a machine with one."
        )
        return 0

    with tempfile.TemporaryDirectory(prefix="podium-bench-gpu-") as tmp:  # inputs: 313 MB
        folder = Path(tmp)
        inputs_path = make_inputs(options.rows, folder / "inputs.npy")
        torch.manual_seed(0)
        config = parse_config({"family": "cnn"})
        model = build_model(config).eval()
        weights, config_path = save_checkpoint(model, config, folder)
        model = model.to(device)
        parameters = sum(p.numel() for p in model.parameters())
        print(
            f"CNN baseline ({parameters:,} parameters), {options.rows:,} rows (MNIST test images "
            f"repeated), batch {options.batch_size}, {device} ({name}), torch {torch.__version__}, "
            f"root={os.geteuid() == 0}, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )

        _, reference = plain_loop(model, inputs_path, device, options.batch_size)  # warm-up
        sandboxed(weights, config_path, inputs_path, options.batch_size)  # warm-up (page cache)
        loops: list[float] = []
        runs: list[tuple[CheckpointResult, float]] = []
        for _ in range(options.repeat):
            loops.append(plain_loop(model, inputs_path, device, options.batch_size)[0])
            runs.append(sandboxed(weights, config_path, inputs_path, options.batch_size))

        rows = options.rows
        loop_rate = rows / statistics.median(loops)
        sandbox_rate = statistics.median(1000 / r.inference_seconds_per_1k for r, _ in runs)
        whole_rate = statistics.median(rows / r.inference_seconds for r, _ in runs)
        ratio = sandbox_rate / loop_rate
        agree = float((runs[-1][0].outputs.argmax(1) == reference.argmax(1)).mean())
        print(f"plain loop            {loop_rate:>12,.0f} images/s  (median of {len(loops)})")
        print(
            f"checkpoint evaluation {sandbox_rate:>12,.0f} images/s  steady state, on "
            f"{runs[0][0].device} ({whole_rate:,.0f} images/s with its first batch)"
        )
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        print(f"ratio                 {ratio:>12.2f}x  (target >= {TARGET_RATIO}x: {verdict})")
        median = statistics.median
        print(
            "fixed cost per job:   "
            f"start+import {median(r.startup_seconds for r, _ in runs):.2f} s, "
            f"load {median(r.load_seconds for r, _ in runs):.2f} s, "
            f"first batch {median(r.first_batch_seconds for r, _ in runs):.3f} s; "
            f"whole job {median(t for _, t in runs):.2f} s"
        )
        print(f"predictions agree with the plain loop on {agree:.2%} of the rows")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
