"""Confinement with bubblewrap (``bwrap``, the tool Flatpak trusts).

The sandbox starts from an empty root and sees only what is bound in:

- the system's programs and libraries (``/usr`` and its ``/bin``, ``/lib*``
  links), the dynamic linker's configuration from ``/etc``, and the parts of
  ``/sys`` that CPU and GPU runtimes read, all read-only;
- the Python installation and the packages the workload needs, read-only,
  bound from descriptors opened by the worker (so a folder the sandbox's uid
  could not enter, such as ``/root``, need not be opened to it);
- a fresh ``/proc`` for a new PID namespace (its pid 1, bubblewrap's own
  reaper, covered: nothing of it may be read), a minimal ``/dev`` (plus the
  GPU's device nodes), both read-only;
- a fresh, read-only ``/tmp`` holding the working folder at ``/tmp/sandbox``,
  the one writable place, whose size the launcher watches.

Everything else, the worker's data folder and any SQLite database wherever
it lives included, does not exist inside. New user, PID, network, IPC, UTS
and cgroup namespaces (the network namespace has only its own loopback), a
new session (no ``TIOCSTI`` into the worker's terminal), death with the
parent, ``no_new_privs``, no capabilities, and the seccomp filter of
:mod:`server.sandbox.seccomp`.

Two modes, probed once per worker process (:func:`support`):

``userns``
    bubblewrap runs as the job's own uid in a user namespace of its own, so
    the model's processes are that uid outside the sandbox too (found and
    killed by uid, counted by ``RLIMIT_NPROC``). Needs unprivileged user
    namespaces, which Docker's default seccomp profile refuses.
``root``
    where user namespaces are refused: bubblewrap runs as root without a user
    namespace (the other namespaces as above) and the sandbox process drops
    to the job's uid itself (:func:`server.sandbox.isolation.enter`) before
    anything of the team's is opened.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from server.sandbox import seccomp
from server.sandbox.isolation import SANDBOX_DIR

PROBE_UID = 60999  # below the pool: the probe never holds a job's uid
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_ENTRIES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/localtime",
)
SYS_DIRS = ("/sys/block", "/sys/bus", "/sys/class", "/sys/dev", "/sys/devices")
GPU_DEVICES = ("/dev/nvidia*", "/dev/nvidia-caps", "/dev/dri")
NAMESPACES = ("user", "mnt", "pid", "net", "ipc", "uts")


class BwrapError(RuntimeError):
    """bubblewrap did not start the sandbox (a platform fault)."""


@dataclass(frozen=True)
class Support:
    """The modes that work on this host, best first ("userns", "root"), and why."""

    modes: tuple[str, ...]
    reason: str

    @property
    def mode(self) -> str | None:
        return self.modes[0] if self.modes else None

    def choose(self, paths: Sequence[str]) -> str | None:
        """The mode for a run that binds ``paths`` in.

        bubblewrap resolves what it binds as the user it runs as: "userns"
        only when every path can be reached by any user (not, e.g., a Python
        installed below ``/root``).
        """
        for mode in self.modes:
            if mode != "userns" or all(reachable_by_others(p) for p in paths):
                return mode
        return None


def reachable_by_others(path: str) -> bool:
    """Whether a user with no rights of its own may reach ``path`` (every folder above: o+x)."""
    parts = os.path.realpath(path).split("/")
    for depth in range(2, len(parts)):
        try:
            if not os.stat("/".join(parts[:depth]) or "/").st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def executable() -> str | None:
    return shutil.which("bwrap")


@functools.cache
def _knows(option: str) -> bool:
    bwrap = executable()
    if bwrap is None:
        return False
    try:
        done = subprocess.run([bwrap, "--help"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return option.encode() in done.stdout + done.stderr


def _system_args() -> list[str]:
    args: list[str] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in ETC_ENTRIES:
        args += ["--ro-bind-try", path, path]
    for path in SYS_DIRS:
        args += ["--ro-bind-try", path, path]
    return args


def _namespace_args(mode: str, uid: int) -> list[str]:
    if mode == "userns":
        # --disable-userns (bubblewrap 0.8+): no nested user namespace, even
        # past the seccomp filter.
        nested = ["--disable-userns"] if _knows("--disable-userns") else []
        return [
            *("--unshare-all", "--unshare-user", *nested),
            *("--uid", str(uid), "--gid", str(uid)),
        ]
    # No user namespace: bubblewrap keeps root's capabilities for the child,
    # which drops them (and root) itself before anything of the team's runs.
    return ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"] + [
        "--unshare-cgroup-try"
    ]


def command(
    mode: str,
    uid: int,
    argv: Sequence[str],
    *,
    work_fd: int | None = None,
    expose: dict[str, int] | None = None,
    hide: Sequence[str] = (),
    seccomp_fd: int | None = None,
    info_fd: int | None = None,
    block_fd: int | None = None,
) -> list[str]:
    """The bwrap command line that runs ``argv`` confined.

    ``expose``: path inside -> descriptor (``O_PATH``) to bind there read-only.
    ``hide``: paths covered again where they lie inside an exposed one.
    """
    bwrap = executable()
    if bwrap is None:
        raise BwrapError("bubblewrap (bwrap) is not installed")
    args = [bwrap, *_namespace_args(mode, uid), "--die-with-parent", "--new-session"]
    args += _system_args()
    args += ["--proc", "/proc", "--perms", "0000", "--tmpfs", "/proc/1"]
    args += ["--dev", "/dev"]
    for pattern in GPU_DEVICES:
        for path in sorted(glob.glob(pattern)):
            args += ["--dev-bind", path, path]
    args += ["--remount-ro", "/dev"]
    # A fresh /tmp first, so that what is exposed below it (a checkout, a
    # virtualenv or a data directory under /tmp) is bound on top, not covered.
    args += ["--tmpfs", "/tmp"]
    exposed = sorted((expose or {}).items(), key=lambda item: (item[0].count("/"), item[0]))
    # Folders above what is bound: made here, open to all (bubblewrap's own are 0700 as root).
    above = {str(parent) for path, _ in exposed for parent in PurePath(path).parents}
    for folder in sorted(above - {"/", *SYSTEM_DIRS}, key=lambda p: (p.count("/"), p)):
        args += ["--perms", "0755", "--dir", folder]
    for path, handle in exposed:
        args += ["--ro-bind-fd", str(handle), path]
    for path in sorted(hide, key=lambda p: (p.count("/"), p)):
        if any(path == p or path.startswith(p.rstrip("/") + "/") for p, _ in exposed):
            if os.path.isdir(path):
                args += ["--perms", "0000", "--tmpfs", path, "--remount-ro", path]
            elif os.path.exists(path):
                args += ["--ro-bind", "/dev/null", path]
    if work_fd is not None:
        args += ["--bind-fd", str(work_fd), SANDBOX_DIR, "--chdir", SANDBOX_DIR]
    args += ["--remount-ro", "/tmp", "--remount-ro", "/"]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    if block_fd is not None:
        args += ["--block-fd", str(block_fd)]
    return [*args, "--", *argv]


def _as_user(mode: str, uid: int) -> dict[str, Any]:
    """Popen arguments: in "userns" mode bubblewrap itself runs as the job's uid."""
    if mode != "userns":
        return {}
    return {"user": uid, "group": uid, "extra_groups": []}


def _try(mode: str) -> str | None:
    """None if bwrap confines ``/bin/true`` in ``mode`` here, else bwrap's complaint."""
    try:
        handle = seccomp.bpf_fd()
    except (OSError, RuntimeError, ValueError) as error:  # SeccompUnavailable included
        return f"cannot build the seccomp filter ({error})"
    try:
        argv = command(mode, PROBE_UID, ["true"], seccomp_fd=handle)
        done = subprocess.run(
            argv,
            env={"PATH": "/usr/bin:/bin"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            pass_fds=(handle,),
            timeout=30,
            check=False,
            **_as_user(mode, PROBE_UID),
        )
    except (OSError, subprocess.SubprocessError, BwrapError) as error:
        return str(error)
    finally:
        os.close(handle)
    if done.returncode != 0:
        return done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
    return None


@functools.cache
def support() -> Support:
    """Which mode works on this host (probed once per process)."""
    if executable() is None:
        return Support((), "bubblewrap (bwrap) is not installed")
    if os.geteuid() != 0:
        return Support((), "the worker does not run as root (needed for per-job uids)")
    problem, fallback = _try("userns"), _try("root")
    if problem is None:
        modes = ("userns", "root") if fallback is None else ("userns",)
        return Support(modes, "bubblewrap in a user namespace, as the job's uid")
    if fallback is None:
        return Support(
            ("root",),
            f"bubblewrap as root without a user namespace (user namespaces: {problem}); "
            "the sandbox drops to the job's uid itself",
        )
    return Support((), f"bubblewrap cannot create namespaces here: {problem}; {fallback}")


def outer_namespaces() -> dict[str, int]:
    """The worker's namespace inodes: the sandbox checks that it has none of them."""
    return {name: os.stat(f"/proc/self/ns/{name}").st_ino for name in NAMESPACES}


def spawn(
    mode: str,
    uid: int,
    argv: Sequence[str],
    *,
    work_dir: str,
    expose: Sequence[str],
    hide: Sequence[str],
    pass_fds: Sequence[int],
    timeout: float,
    adopt: Callable[[list[int]], None] | None = None,
    **popen: Any,
) -> tuple[subprocess.Popen[bytes], int | None]:
    """Start ``argv`` in the sandbox; returns the bwrap process and the sandbox's pid 1.

    The sandbox waits (``--block-fd``) until ``adopt(pids)`` has been called
    with bubblewrap's processes (to put them in a cgroup before anything runs).
    """
    handles: list[int] = []
    try:
        work_fd = os.open(work_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        handles.append(work_fd)
        exposed: dict[str, int] = {}
        for path in expose:
            exposed[path] = os.open(path, os.O_PATH | os.O_CLOEXEC)
            handles.append(exposed[path])
        seccomp_fd = seccomp.bpf_fd()
        handles.append(seccomp_fd)
        info_read, info_write = os.pipe()
        handles += [info_read, info_write]
        block_read, block_write = os.pipe()
        handles += [block_read, block_write]
        args = command(
            mode,
            uid,
            argv,
            work_fd=work_fd,
            expose=exposed,
            hide=hide,
            seccomp_fd=seccomp_fd,
            info_fd=info_write,
            block_fd=block_read,
        )
        keep = (*pass_fds, work_fd, *exposed.values(), seccomp_fd, info_write, block_read)
        process = subprocess.Popen(
            args,
            pass_fds=keep,
            start_new_session=True,
            **_as_user(mode, uid),
            **popen,
        )
        for handle in (info_write, block_read):
            os.close(handle)
            handles.remove(handle)
        info = _read_info(info_read, time.monotonic() + timeout)
        monitor = info.get("child-pid") if info else None
        if info is not None and adopt is not None:
            adopt(descendants(process.pid))
        with contextlib.suppress(OSError):  # bubblewrap gone: the launcher reports its log
            os.write(block_write, b"x")
        return process, monitor if isinstance(monitor, int) else None
    finally:
        for handle in handles:
            os.close(handle)


def returncode(code: int) -> int:
    """The sandbox process's return code (``-N``: signal N) from bubblewrap's.

    bubblewrap exits with ``128 + N`` when the process it watches died of
    signal N. A program may exit with such a status itself: it then only
    misnames its own failure.
    """
    if 128 < code <= 128 + 64:
        return 128 - code
    return code


def _read_info(handle: int, deadline: float) -> dict[str, object] | None:
    """bubblewrap's ``--info-fd`` JSON (None if it failed before writing it)."""
    data = b""
    while time.monotonic() < deadline and len(data) < 65536:
        readable, _, _ = select.select([handle], [], [], max(0.0, deadline - time.monotonic()))
        if not readable:
            break
        chunk = os.read(handle, 4096)
        if not chunk:
            break
        data += chunk
        try:
            info = json.loads(data)
        except ValueError:
            continue
        return info if isinstance(info, dict) else None
    return None


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (empty once it has exited)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending += children(current)
    return found
