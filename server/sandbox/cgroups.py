"""Memory and process limits in a cgroup v2, where the worker may write one.

:func:`detect` decides once per worker process: a cgroup v2 hierarchy
(``cgroup2`` in ``/proc/self/mountinfo``) whose cgroup for this process offers
the ``memory`` and ``pids`` controllers and is writable. Each run then gets a
child cgroup (:class:`JobCgroup`) with ``pids.max``, ``memory.max`` (set when
the runtime is loaded: its footprint plus the model's allowance),
``memory.swap.max = 0`` and ``memory.oom.group = 1``; the end of the run kills
the whole cgroup (``cgroup.kill``). Unlike resource limits, these count every
process of the run together, page cache and tmpfs included.

Without one (cgroup v1 or hybrid hosts, a read-only ``/sys/fs/cgroup`` as in
a default Docker container), the sandbox falls back to resource limits
(``RLIMIT_DATA``/``RLIMIT_AS``/``RLIMIT_NPROC``, set in the sandbox itself);
the reason is logged when the worker starts. The resource limits apply in
both cases: in a cgroup they are the first wall, the cgroup the one that
counts everything.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from dataclasses import dataclass
from pathlib import Path

NEEDED = ("memory", "pids")
WORKER_LEAF = "podium-worker"  # where this process moves so that its cgroup may have children
MB = 1024 * 1024


@dataclass(frozen=True)
class Support:
    """Where job cgroups go (None: resource limits only), and why."""

    parent: Path | None
    reason: str


def _unescape(text: str) -> str:
    return text.replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")


def cgroup2_mount(mountinfo: str) -> Path | None:
    """The mount point of the cgroup v2 hierarchy, from the text of ``/proc/self/mountinfo``."""
    for line in mountinfo.splitlines():
        before, _, after = line.partition(" - ")
        if after.split()[:1] == ["cgroup2"]:
            return Path(_unescape(before.split()[4]))
    return None


def own_cgroup(proc_cgroup: str) -> str | None:
    """This process's cgroup v2 path (``0::/path`` in ``/proc/self/cgroup``)."""
    for line in proc_cgroup.splitlines():
        if line.startswith("0::"):
            return line[3:]
    return None


def _read(path: Path) -> str:
    return path.read_text(encoding="ascii").strip()


def _write(path: Path, value: str) -> None:
    # cgroup files take one write each, unbuffered.
    with open(path, "w", encoding="ascii", buffering=1) as handle:
        handle.write(value)


def detect(
    mountinfo_path: Path = Path("/proc/self/mountinfo"),
    cgroup_path: Path = Path("/proc/self/cgroup"),
) -> Support:
    """Whether job cgroups can be made here; prepares the parent when they can."""
    try:
        mount = cgroup2_mount(mountinfo_path.read_text())
        own = own_cgroup(cgroup_path.read_text())
    except OSError as error:
        return Support(None, f"cannot read the process's cgroups ({error.strerror})")
    if mount is None or own is None:
        return Support(None, "no cgroup v2 hierarchy (cgroup v1 only)")
    base = mount / own.lstrip("/")
    try:
        offered = set(_read(base / "cgroup.controllers").split())
    except OSError:
        return Support(None, f"the cgroup v2 at {mount} does not hold this process")
    missing = [name for name in NEEDED if name not in offered]
    if missing:
        return Support(
            None,
            f"the cgroup v2 at {mount} lacks the {' and '.join(missing)} controller(s) "
            "(a hybrid cgroup v1/v2 host?)",
        )
    if not os.access(base, os.W_OK) or not os.access(base / "cgroup.subtree_control", os.W_OK):
        return Support(None, f"the cgroup {base} is not writable (read-only /sys/fs/cgroup?)")
    try:
        _enable_controllers(base)
    except OSError as error:
        return Support(None, f"cannot enable memory and pids in {base} ({error.strerror})")
    return Support(base, f"cgroup v2 at {base}")


def _enable_controllers(base: Path) -> None:
    """Let ``base`` have child cgroups with memory and pids limits.

    A cgroup v2 that holds processes cannot give controllers to children
    ("no internal processes"): its processes (this worker's) move to a leaf
    child first.
    """
    enabled = set(_read(base / "cgroup.subtree_control").split())
    if all(name in enabled for name in NEEDED):
        return
    leaf = base / WORKER_LEAF
    leaf.mkdir(exist_ok=True)
    for pid in _read(base / "cgroup.procs").split():
        with contextlib.suppress(ProcessLookupError):
            _write(leaf / "cgroup.procs", pid)
    _write(base / "cgroup.subtree_control", " ".join(f"+{name}" for name in NEEDED))


class JobCgroup:
    """One run's cgroup: created with a process limit, given its memory limit at "ready"."""

    def __init__(self, parent: Path, name: str, processes: int | None) -> None:
        self.path = parent / name
        self.path.mkdir()
        if processes is not None:
            _write(self.path / "pids.max", str(processes))
        for name, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
            if (self.path / name).exists():
                _write(self.path / name, value)

    def add(self, pids: list[int]) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                _write(self.path / "cgroup.procs", str(pid))

    def limit_memory(self, extra_mb: int) -> int:
        """``memory.max`` = what the run uses now + ``extra_mb``; returns the limit in bytes."""
        limit = int(_read(self.path / "memory.current")) + extra_mb * MB
        _write(self.path / "memory.max", str(limit))
        return limit

    def oom_killed(self) -> bool:
        try:
            for line in _read(self.path / "memory.events").splitlines():
                name, _, value = line.partition(" ")
                if name == "oom_kill" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            pass
        return False

    def remove(self) -> None:
        """Kill every process left in the cgroup, then remove it."""
        if (self.path / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                _write(self.path / "cgroup.kill", "1")
        for _ in range(200):
            try:
                pids = _read(self.path / "cgroup.procs").split()
            except OSError:
                pids = []
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError, ValueError):
                    os.kill(int(pid), 9)
            try:
                self.path.rmdir()
                return
            except OSError as error:
                if error.errno != errno.EBUSY:  # gone, or not a cgroup file system
                    return
                time.sleep(0.01)
