"""Confinement, applied inside the sandbox process before any untrusted code runs.

:func:`enter` runs first, as root (when the worker runs as root, as in the
compose deploy):

1. new mount and network namespaces (``unshare``): the network namespace has
   no interface but a loopback that is down, so nothing is reachable, not
   even 127.0.0.1, and abstract unix sockets are private;
2. every mount becomes read-only (per-mount flags preserved), so nothing
   outside the working directory can be written;
3. scratch and socket folders (``/tmp``, ``/var/tmp``, ``/run``,
   ``/dev/shm``), the server's data folders and any folder that others cannot
   traverse (e.g. ``/root``) are covered by empty read-only tmpfs mounts; the
   Python installation and the project, when they live below one of them,
   are bound back read-only; the working directory appears read-write at
   ``/tmp/sandbox``;
4. a fresh ``/proc`` with ``hidepid=invisible`` hides other users' processes
   (best effort);
5. ``no_new_privs``, then the process drops to its own unused uid and gid
   with no supplementary groups (which drops every capability).

:func:`apply_limits` runs later, once the runtime is loaded but before the
model is: resource limits on top of what the runtime already uses.

Without root, only the clean environment, the working directory and the
resource limits apply; the launcher refuses to run programs that way unless
``PODIUM_SANDBOX_REQUIRE_ISOLATION=false``.
"""

from __future__ import annotations

import ctypes
import errno
import math
import os
import re
import resource
import signal
from dataclasses import dataclass, field
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
PR_SET_NO_NEW_PRIVS = 38

# Where the working directory appears inside the sandbox.
SANDBOX_DIR = "/tmp/sandbox"
# World-writable folders and folders of sockets (a unix socket is reachable
# from any network namespace; PostgreSQL's and Docker's live in /run or /tmp).
SCRATCH_DIRS = ("/tmp", "/var/tmp", "/run", "/dev/shm")
# Kernel file systems whose mounts may refuse a read-only remount; their
# files are guarded by permissions, not by the mount.
PSEUDO_FILESYSTEMS = frozenset(
    [
        "proc",
        "sysfs",
        "cgroup",
        "cgroup2",
        "devpts",
        "mqueue",
        "debugfs",
        "tracefs",
        "securityfs",
        "pstore",
        "bpf",
        "fusectl",
        "configfs",
        "hugetlbfs",
        "binfmt_misc",
        "autofs",
        "nsfs",
        "efivarfs",
        "selinuxfs",
        "rpc_pipefs",
        "nfsd",
    ]
)
_MOUNT_FLAGS = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
    "strictatime": MS_STRICTATIME,
}
_HIDING_TMPFS = "size=1m,mode=755"
MB = 1024 * 1024


class IsolationError(RuntimeError):
    """The sandbox could not be set up (a platform problem, never the model's)."""


@dataclass
class Plan:
    """What the launcher asks for (read from the job file)."""

    work_dir: str
    uid: int | None = None
    require: bool = False
    hide: list[str] = field(default_factory=list)
    expose: list[str] = field(default_factory=list)


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong]
_libc.mount.argtypes += [ctypes.c_char_p]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.prctl.argtypes += [ctypes.c_ulong]


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def _unescape(text: str) -> str:
    # /proc/self/mountinfo writes space, tab, newline and backslash as \ooo.
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), text)


def mount_points() -> list[tuple[str, int, str]]:
    """(mount point, per-mount flags to keep, file system type) of every mount."""
    mounts = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            before, _, after = line.partition(" - ")
            fields = before.split()
            options = fields[5].split(",")
            flags = 0
            for option in options:
                flags |= _MOUNT_FLAGS.get(option, 0)
            mounts.append((_unescape(fields[4]), flags, after.split()[0]))
    return mounts


def _is_below(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def untraversable_ancestor(path: str) -> str | None:
    """The outermost folder above ``path`` that other users cannot enter, if any."""
    parts = Path(path).parts
    for depth in range(2, len(parts)):
        ancestor = str(Path(*parts[:depth]))
        try:
            mode = os.stat(ancestor).st_mode
        except OSError:
            return None
        if not mode & 0o001:
            return ancestor
    return None


def _hide(root: str, expose: list[str], work_fd: int | None) -> None:
    """Cover ``root`` with an empty read-only tmpfs, binding ``expose`` paths back in."""
    inner = [p for p in expose if _is_below(p, root) and p != root]
    handles = {p: os.open(p, os.O_PATH | os.O_CLOEXEC) for p in inner if os.path.exists(p)}
    try:
        _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, _HIDING_TMPFS)
        for path, handle in sorted(handles.items()):
            if os.path.isdir(f"/proc/self/fd/{handle}"):
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                open(path, "a").close()  # noqa: SIM115 - a mount point
            _mount(f"/proc/self/fd/{handle}", path, None, MS_BIND | MS_REC)
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        if work_fd is not None:
            os.mkdir(SANDBOX_DIR, 0o755)
            _mount(f"/proc/self/fd/{work_fd}", SANDBOX_DIR, None, MS_BIND)
            _mount(None, SANDBOX_DIR, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)
        _mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, _HIDING_TMPFS)
    finally:
        for handle in handles.values():
            os.close(handle)


def enter(plan: Plan) -> dict[str, bool]:
    """Confine this process as far as the plan and the host allow; returns what holds.

    With ``plan.require``, anything short of full isolation raises
    :class:`IsolationError`.
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    achieved = {"user": False, "network": False, "filesystem": False, "processes": False}
    if plan.uid is None:
        if plan.require:
            raise IsolationError("full isolation needs the worker to run as root")
        os.chdir(plan.work_dir)
        return achieved
    try:
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
    except OSError as error:
        if plan.require:
            raise IsolationError(
                f"cannot create mount and network namespaces ({error.strerror}); the worker "
                "needs CAP_SYS_ADMIN and a seccomp profile that allows unshare"
            ) from None
    else:
        achieved["network"] = True
        _confine_filesystem(plan)
        achieved["filesystem"] = True
        try:
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible")
            achieved["processes"] = True
        except OSError:
            pass  # older kernels, or a /proc with locked sub-mounts
    # Enter the folder while still root: without the mount namespace its real
    # path runs through the launcher's private folders, closed to the uid.
    os.chdir(SANDBOX_DIR if achieved["filesystem"] else plan.work_dir)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")
    os.setgroups([])
    os.setresgid(plan.uid, plan.uid, plan.uid)
    os.setresuid(plan.uid, plan.uid, plan.uid)
    if os.getresuid() != (plan.uid,) * 3 or os.getgroups():
        raise IsolationError("could not drop privileges")
    achieved["user"] = True
    return achieved


def _confine_filesystem(plan: Plan) -> None:
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    for mount_point, flags, fstype in mount_points():
        try:
            _mount(None, mount_point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
        except OSError as error:
            if fstype not in PSEUDO_FILESYSTEMS and error.errno != errno.ENOENT:
                raise IsolationError(f"cannot make {mount_point} read-only: {error}") from None
    expose = sorted({os.path.realpath(p) for p in plan.expose if os.path.exists(p)})
    hide = {os.path.realpath(p) for p in plan.hide} | set(SCRATCH_DIRS)
    hide |= {a for p in expose if (a := untraversable_ancestor(p)) is not None}
    # The working directory must be opened in this namespace to be bound into it.
    work_fd = os.open(plan.work_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for root in sorted(hide, key=lambda p: (p.count("/"), p)):
            if root == "/" or not os.path.isdir(root):
                continue  # gone: below a folder hidden already
            _hide(root, expose, work_fd if root == "/tmp" else None)
    finally:
        os.close(work_fd)


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
