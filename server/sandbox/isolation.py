"""Confinement, checked inside the sandbox process before any untrusted code runs.

The walls are built outside, by bubblewrap (:mod:`server.sandbox.bwrap`):
namespaces, an empty root with read-only binds, a fresh ``/proc`` and
``/tmp``, the seccomp filter. :func:`enter` runs first in the sandbox:

1. where bubblewrap ran as root (mode ``root``: no user namespaces on this
   host), it drops to the job's own unused uid and gid with no supplementary
   groups, which drops every capability (``no_new_privs`` is set already);
2. it checks what holds, from inside: the uid and no capabilities; user,
   mount, PID and network namespaces other than the worker's (and only a
   loopback interface); the job's host folder invisible and the working
   folder at ``/tmp/sandbox``; a seccomp filter in force. With
   ``plan.require``, anything short of all of it is a platform error.

:func:`apply_limits` runs later, once the runtime is loaded but before the
model is: resource limits on top of what the runtime already uses.

Without bubblewrap (or without root), only the clean environment, the
working directory and the resource limits apply; the launcher refuses to
run programs that way unless ``PODIUM_SANDBOX_REQUIRE_ISOLATION=false``.
"""

from __future__ import annotations

import math
import os
import resource
import signal
from dataclasses import dataclass, field

# Where the working directory appears inside the sandbox.
SANDBOX_DIR = "/tmp/sandbox"
MB = 1024 * 1024


class IsolationError(RuntimeError):
    """The sandbox could not be set up (a platform problem, never the model's)."""


@dataclass
class Plan:
    """What the launcher asks for (read from the job)."""

    work_dir: str
    uid: int | None = None
    require: bool = False
    mode: str | None = None  # "userns", "root" (see server.sandbox.bwrap) or None: unconfined
    job_dir: str = ""  # the job's folder on the host: must not exist inside
    outer: dict[str, int] = field(default_factory=dict)  # the worker's namespace inodes


def enter(plan: Plan) -> dict[str, bool]:
    """Finish the confinement and check it; returns what holds.

    With ``plan.require``, anything short of full isolation raises
    :class:`IsolationError`.
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if plan.mode is None or plan.uid is None:
        if plan.require:
            raise IsolationError("full isolation needs bubblewrap and a worker running as root")
        os.chdir(plan.work_dir)
        return dict.fromkeys(("user", "network", "filesystem", "processes", "seccomp"), False)
    if plan.mode == "root":
        os.setgroups([])
        os.setresgid(plan.uid, plan.uid, plan.uid)
        os.setresuid(plan.uid, plan.uid, plan.uid)
    achieved = check(plan)
    missing = [name for name, held in achieved.items() if not held]
    if plan.require and missing:
        raise IsolationError(f"the sandbox is not confined: {', '.join(missing)}")
    return achieved


def _status(field_name: str) -> str:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field_name + ":"):
                return line.split(":", 1)[1].strip()
    return ""


def _namespace_differs(name: str, outer: dict[str, int]) -> bool:
    try:
        return os.stat(f"/proc/self/ns/{name}").st_ino != outer.get(name)
    except OSError:
        return False


def _interfaces() -> list[str]:
    with open("/proc/net/dev") as handle:
        return [line.split(":")[0].strip() for line in handle.readlines()[2:]]


def check(plan: Plan) -> dict[str, bool]:
    """What holds in this process, seen from inside."""
    outer = plan.outer
    user = (
        plan.uid is not None
        and plan.uid != 0
        and os.getresuid() == (plan.uid,) * 3
        and os.getresgid() == (plan.uid,) * 3
        and not [g for g in os.getgroups() if g != plan.uid]
        and int(_status("CapEff") or "1", 16) == 0
        and _status("NoNewPrivs") == "1"
    )
    network = _namespace_differs("net", outer) and set(_interfaces()) <= {"lo"}
    filesystem = (
        _namespace_differs("mnt", outer)
        and bool(plan.job_dir)
        and not os.path.exists(plan.job_dir)
        and os.getcwd() == SANDBOX_DIR
    )
    processes = _namespace_differs("pid", outer)
    return {
        "user": user,
        "network": network,
        "filesystem": filesystem,
        "processes": processes,
        "seccomp": _status("Seccomp") == "2",
    }


def _status_kb(field_name: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


@dataclass(frozen=True)
class Limits:
    """Resource limits for the model, on top of what the runtime already uses."""

    memory_mb: int
    cpu_seconds: float
    processes: int | None
    file_size_bytes: int
    open_files: int = 512


def apply_limits(limits: Limits, limit_address_space: bool) -> dict[str, int]:
    """Set the resource limits; returns the runtime's own footprint (for the report).

    Memory: ``RLIMIT_DATA`` (writable private memory, i.e. what a model
    allocates) and, on the CPU, ``RLIMIT_AS``, each at the runtime's current
    use plus ``memory_mb``. CUDA reserves huge address ranges, so ``RLIMIT_AS``
    is left alone when the model runs on a GPU.
    """
    extra = limits.memory_mb * MB
    data = _status_kb("VmData") * 1024 + extra
    resource.setrlimit(resource.RLIMIT_DATA, (data, data))
    if limit_address_space:
        space = _status_kb("VmSize") * 1024 + extra
        resource.setrlimit(resource.RLIMIT_AS, (space, space))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = math.ceil(usage.ru_utime + usage.ru_stime + limits.cpu_seconds)
    # SIGXCPU at the soft limit, SIGKILL a little later if it is ignored.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size_bytes, limits.file_size_bytes))
    # Python ignores SIGXFSZ; restored, a file past the limit ends the process visibly.
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    if limits.processes is not None:
        # Counted per uid: meaningful only for the sandbox's own uid.
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    return {"runtime_rss_kb": _status_kb("VmHWM")}
