"""What this host offers the sandbox, and what the sandbox is given of it.

Decided once per worker process: whether programs can be isolated here
(bubblewrap, root), where per-run cgroups go, and the start-up line that
says so; per run: the environment and the read-only paths the sandbox gets.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from server.sandbox import bwrap, cgroups

# Environment variables passed through: which GPU to use, where its libraries are.
PASSED_ENVIRONMENT = ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "LD_LIBRARY_PATH")


def root_path() -> Path:
    """Where job folders go (made by ``launcher.sandbox_root``)."""
    return Path(tempfile.gettempdir()) / "podium-sandbox"


def isolation_available() -> bool:
    """Whether full isolation can be set up here: bubblewrap works, as root (probed once)."""
    return bwrap.support().mode is not None


@functools.cache
def cgroup_support() -> cgroups.Support:
    """Where each run's cgroup goes, if anywhere (decided once per process)."""
    if not isolation_available():
        return cgroups.Support(None, "no isolation, so no per-run cgroup")
    return cgroups.detect()


def startup_report() -> str:
    """One line for the worker's start-up log: how programs are confined and limited."""
    confined = bwrap.support()
    limits = cgroup_support()
    where = (
        limits.reason
        if limits.parent is not None
        else f"resource limits (rlimits), since {limits.reason}"
    )
    mode = confined.choose([*_expose_paths([]), str(root_path())])
    if mode is None:
        return f"sandbox: NOT isolated ({confined.reason}); memory and process limits: {where}"
    how = {
        "userns": "bubblewrap in a user namespace, as the job's uid",
        "root": "bubblewrap as root without a user namespace, dropping to the job's uid"
        + (
            f" ({confined.reason})"
            if "userns" not in confined.modes
            else " (this Python lies where other users cannot reach it)"
        ),
    }[mode]
    return f"sandbox: {how}, seccomp filter; memory and process limits: {where}"


def clean_environment(home: str, threads: int) -> dict[str, str]:
    """The child's whole environment: no PODIUM_* setting, no token, no secret."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        # The sandbox's uid has no passwd entry: getpass.getuser() must not need one.
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        # glibc's malloc: keep freed activations for the next batch rather than
        # handing them back to the kernel and faulting them in again (measured:
        # a third of the CPU time of the CNN baseline otherwise).
        "MALLOC_MMAP_THRESHOLD_": str(32 * 1024 * 1024),
        "MALLOC_TRIM_THRESHOLD_": str(1024 * 1024 * 1024),
        "MALLOC_TOP_PAD_": str(64 * 1024 * 1024),
    }
    env |= {name: os.environ[name] for name in PASSED_ENVIRONMENT if name in os.environ}
    return env


def _expose_paths(extra: Sequence[str], packages: Sequence[str] = ("server",)) -> list[str]:
    """What the sandbox must still read: the interpreter, its libraries, the workload's packages.

    Only these are bound in (read-only): not the project's folder, where a
    database or a data folder may lie beside the packages.
    """
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths = {os.path.realpath(p) for p in prefixes}
    for entry in sys.path:  # the library folders, wherever they were linked from
        real = os.path.realpath(entry) if entry else ""
        if os.path.isdir(real) and any(real.startswith(p.rstrip("/") + "/") for p in paths):
            paths.add(real)
    for package in packages:  # the workload's, found without importing them (no torch here)
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            paths.add(str(Path(spec.origin).resolve().parent))
    paths |= {os.path.realpath(p) for p in extra if os.path.isdir(p)}
    # A folder inside another is bound with it already.
    return sorted(p for p in paths if not any(p.startswith(q.rstrip("/") + "/") for q in paths))


def high_water_kb(pid: int) -> int:
    """The process's peak resident memory so far (0 once it has exited).

    Sampled from /proc rather than taken from ``wait4``: ``ru_maxrss``
    survives ``exec`` and so would count the worker's own memory.
    """
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0
