"""The parent side of the sandbox: prepare, start, watch, stop, clean up.

Each run gets a private job folder under ``$TMPDIR/podium-sandbox`` (root
only), a working folder inside it that belongs to a uid of its own (taken
from a pool, :mod:`server.sandbox.uids`), and a child process confined by
bubblewrap (:mod:`server.sandbox.bwrap`), in a cgroup of its own where the
host offers one (:mod:`server.sandbox.cgroups`). The launcher
enforces what the child cannot be trusted to enforce on itself: the
wall-clock limit (counted from the moment the runtime is loaded, so that
interpreter and torch start-up are never billed to the model), a cap on the
disk the working folder may use, and the end of every process the model
started, found by uid, not by process group (a model may call ``setsid``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from server.sandbox import bwrap, cgroups
from server.sandbox.host import (
    _expose_paths,
    cgroup_support,
    clean_environment,
    high_water_kb,
    isolation_available,
    root_path,
    startup_report,
)
from server.sandbox.isolation import Limits
from server.sandbox.uids import (
    UID_BASE,
    UID_COUNT,
    PoolExhausted,
    _processes_of,
    _UidLease,
    kill_uid,
)

__all__ = [
    "UID_BASE",
    "UID_COUNT",
    "Sandbox",
    "SandboxError",
    "_processes_of",
    "clean_environment",
    "isolation_available",
    "kill_uid",
    "startup_report",
]

log = logging.getLogger(__name__)

RUNNER = Path(__file__).resolve().with_name("runner.py")
# Interpreter + torch start-up, before the model's clock starts; ours, not the model's.
STARTUP_TIMEOUT_SECONDS = 120.0
POLL_SECONDS = 0.05
DISK_CHECK_SECONDS = 0.1
MAX_WORK_ENTRIES = 10_000
LOG_TAIL_BYTES = 4000
MAX_CHANNEL_BYTES = 64 * 1024


class SandboxError(RuntimeError):
    """The sandbox failed (a platform fault: never counted against a team)."""


@dataclass(frozen=True)
class SandboxLimits:
    """Everything a run may use. Memory is on top of the runtime (Python + torch)."""

    wall_seconds: float
    memory_mb: int
    cpu_seconds: float
    file_size_bytes: int
    disk_bytes: int
    processes: int = 64
    open_files: int = 512


@dataclass
class SandboxRun:
    """How a run ended, as observed by the launcher (trustworthy)."""

    exit_code: int | None
    signal: int | None
    killed_for: str | None  # "time" or "disk": the launcher stopped it
    ready: dict[str, Any]
    seconds: float  # wall-clock from "ready" to the end
    startup_seconds: float  # from the start to "ready"
    runtime_rss_kb: int  # resident memory of the loaded runtime, at "ready"
    peak_rss_kb: int  # highest resident memory seen (VmHWM, sampled while it runs)
    log_tail: str = ""
    isolation: dict[str, bool] = field(default_factory=dict)


def sandbox_root() -> Path:
    """The folder of job folders: the worker's; others may pass through, not list (0711).

    bubblewrap in a user namespace runs as the job's uid and must reach the
    job's working folder (0700, the job uid's) by its path.
    """
    root = root_path()
    with contextlib.suppress(FileExistsError):
        root.mkdir(mode=0o711)
    info = os.lstat(root)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise SandboxError(f"{root} is not a folder owned by this user")
    if stat.S_IMODE(info.st_mode) != 0o711:
        os.chmod(root, 0o711)
    return root


class Sandbox:
    """One sandboxed run: ``with Sandbox(...) as box: box.add_file(...); box.run(...)``."""

    def __init__(
        self,
        require_isolation: bool,
        hide: Sequence[Path | str] = (),
        python_path: Sequence[str] = (),
        threads: int | None = None,
        packages: Sequence[str] = ("server",),
    ) -> None:
        self.require_isolation = require_isolation
        self.hide = [str(Path(p).resolve()) for p in hide]
        self.python_path = list(python_path)
        self.packages = list(packages)  # top-level packages the workload imports
        self.threads = threads or len(os.sched_getaffinity(0))
        self._uid: _UidLease | None = None
        self._cgroup: cgroups.JobCgroup | None = None
        self._monitor: int | None = None  # the sandbox's pid 1 (bubblewrap's reaper)
        self._watched = 0  # the sandbox process, whose memory the launcher samples
        self._placed: set[int] = set()  # inodes of the files we put in the folder
        self.job_dir = Path()
        self.work_dir = Path()

    def __enter__(self) -> Sandbox:
        if self.require_isolation and not isolation_available():
            raise SandboxError(
                f"this worker cannot isolate programs: {bwrap.support().reason} (set "
                "PODIUM_SANDBOX_REQUIRE_ISOLATION=false only on a trusted machine)"
            )
        root = sandbox_root()
        self.job_dir = Path(tempfile.mkdtemp(prefix="job-", dir=root))
        os.chmod(self.job_dir, 0o711)  # a random name; job.json and the log stay 0600
        self.work_dir = self.job_dir / "work"
        self.work_dir.mkdir(mode=0o700)
        if isolation_available():
            try:
                self._uid = _UidLease(root)
            except PoolExhausted as error:
                raise SandboxError(str(error)) from None
            os.chown(self.work_dir, self._uid.uid, self._uid.uid)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._cgroup is not None:
                self._cgroup.remove()
            if self._uid is not None:
                self._uid.release()
        finally:
            shutil.rmtree(self.job_dir, ignore_errors=True)

    @property
    def uid(self) -> int | None:
        return self._uid.uid if self._uid is not None else None

    def add_file(self, source: Path | str, name: str) -> None:
        """Put a read-only file in the working folder.

        A hard link when the file is readable by all already (no copy of large
        inputs), else a copy that the sandbox's uid may read (blobs are 0600).
        """
        target = self.work_dir / name
        try:
            if not os.stat(source).st_mode & stat.S_IROTH:
                raise PermissionError(source)
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
            os.chmod(target, 0o444)
        self._placed.add(os.stat(target).st_ino)

    def open_output(self, name: str, max_bytes: int) -> bytes | None:
        """The bytes of a regular file the run left in its folder (None if absent).

        Opened without following links: the folder belongs to the model,
        which could leave a symlink to a file of ours there.
        """
        try:
            handle = os.open(self.work_dir / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except (FileNotFoundError, OSError):
            return None
        try:
            info = os.fstat(handle)
            if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
                return None
            with os.fdopen(handle, "rb", closefd=False) as file:
                return file.read(max_bytes + 1)[: max_bytes + 1]
        finally:
            os.close(handle)

    def run(self, entry: str, args: dict[str, Any], limits: SandboxLimits) -> SandboxRun:
        """Run ``entry`` (``module:function(args, ready)``) in the sandbox and wait for it."""
        expose = _expose_paths(self.python_path, self.packages)
        needed = [*expose, str(self.work_dir)]
        mode = bwrap.support().choose(needed) if self.uid is not None else None
        if self.uid is not None and mode is None:
            raise SandboxError(
                "bubblewrap works here only in a user namespace, whose uid cannot reach "
                f"{', '.join(needed)}: install Python where any user may read it"
            )
        job = {
            "entry": entry,
            "args": args,
            "python_path": self.python_path,
            "isolation": {
                "work_dir": str(self.work_dir),
                "uid": self.uid,
                "require": self.require_isolation,
                "mode": mode,
                "job_dir": str(self.job_dir),
                "outer": bwrap.outer_namespaces(),
            },
            "limits": asdict(
                Limits(
                    memory_mb=limits.memory_mb,
                    cpu_seconds=limits.cpu_seconds,
                    processes=limits.processes if self.uid is not None else None,
                    file_size_bytes=limits.file_size_bytes,
                    open_files=limits.open_files,
                )
            ),
        }
        job_file = self.job_dir / "job.json"
        job_file.write_text(json.dumps(job), encoding="utf-8")
        os.chmod(job_file, 0o600)
        read_end, write_end = os.pipe()
        job_fd = os.open(job_file, os.O_RDONLY)
        started = time.monotonic()
        log_fd = os.open(self.job_dir / "log", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(log_fd, "wb") as log_file:
            try:
                process = self._start(mode, expose, limits, job_fd, write_end, log_file.fileno())
            finally:
                os.close(write_end)
                os.close(job_fd)
            try:
                return self._watch(process, read_end, limits, started)
            finally:
                self._stop(process)
                os.close(read_end)

    def _start(
        self,
        mode: str | None,
        expose: list[str],
        limits: SandboxLimits,
        job_fd: int,
        channel: int,
        log_fd: int,
    ) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-I", "-B", str(RUNNER), str(job_fd), str(channel)]
        popen: dict[str, Any] = {
            "env": clean_environment(str(self.work_dir), self.threads),
            "stdin": subprocess.DEVNULL,
            "stdout": log_fd,
            "stderr": subprocess.STDOUT,
        }
        if mode is None or self.uid is None:  # weights, or a trusted machine
            process = subprocess.Popen(
                argv, cwd=self.job_dir, pass_fds=(job_fd, channel), start_new_session=True, **popen
            )
            self._watched = process.pid
            return process
        support = cgroup_support()
        if support.parent is not None:
            self._cgroup = cgroups.JobCgroup(support.parent, self.job_dir.name, limits.processes)
        process, self._monitor = bwrap.spawn(
            mode,
            self.uid,
            argv,
            work_dir=str(self.work_dir),
            expose=expose,
            hide=self.hide,
            pass_fds=(job_fd, channel),
            timeout=STARTUP_TIMEOUT_SECONDS,
            adopt=self._cgroup.add if self._cgroup is not None else None,
            **popen,
        )
        self._watched = process.pid
        return process

    def _on_ready(self, memory_mb: int) -> None:
        """The runtime is loaded: watch the sandbox process itself; set the cgroup's memory."""
        if self._monitor is not None:
            self._watched = next(iter(bwrap.children(self._monitor)), self._watched)
        if self._cgroup is not None:
            self._cgroup.limit_memory(memory_mb)

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if self._cgroup is not None:
            self._cgroup.remove()
        if self._uid is not None:
            kill_uid(self._uid.uid)

    def _watch(
        self, process: subprocess.Popen[bytes], channel: int, limits: SandboxLimits, started: float
    ) -> SandboxRun:
        try:
            exited: int | None = os.pidfd_open(process.pid)  # readable once the child exits
        except OSError:  # kernels before 5.3, some user-space kernels: poll instead
            exited = None
        status: int | None = None
        messages = b""
        channel_open = True
        ready: dict[str, Any] | None = None
        ready_at = started
        deadline = started + STARTUP_TIMEOUT_SECONDS
        killed_for = None
        peak_kb = 0
        next_disk_check = started
        try:
            while True:
                waiting = ([exited] if exited is not None else []) + (
                    [channel] if channel_open else []
                )
                timeout = max(0.0, min(deadline - time.monotonic(), POLL_SECONDS))
                readable, _, _ = select.select(waiting, [], [], timeout)
                if exited is None:
                    pid, waited, _ = os.wait4(process.pid, os.WNOHANG)
                    if pid:
                        status = waited
                if channel in readable:
                    data = os.read(channel, MAX_CHANNEL_BYTES)
                    channel_open = bool(data) and len(messages) < MAX_CHANNEL_BYTES
                    messages += data
                    if ready is None:
                        ready = _first_message(messages)
                        if ready is not None and ready.get("ready"):
                            ready_at = time.monotonic()
                            deadline = ready_at + limits.wall_seconds
                            self._on_ready(limits.memory_mb)
                if status is not None or (exited is not None and exited in readable):
                    break
                if time.monotonic() >= deadline:
                    killed_for = "time" if ready is not None else "startup"
                    break
                if ready is not None:
                    peak_kb = max(peak_kb, high_water_kb(self._watched))
                    if time.monotonic() >= next_disk_check:
                        next_disk_check = time.monotonic() + DISK_CHECK_SECONDS
                        if self._disk_used() > limits.disk_bytes:
                            killed_for = "disk"
                            break
        finally:
            if exited is not None:
                os.close(exited)
        if killed_for is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        if status is None:
            _, status, _ = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        # bubblewrap's reaper exits with 128 + the signal that ended the sandbox process.
        code = bwrap.returncode(process.returncode) if self._monitor else process.returncode
        ended = time.monotonic()
        if ready is None:
            messages += _drain(channel)
            ready = _first_message(messages)
        log_tail = self._log_tail()
        if killed_for == "startup" or ready is None or "setup_error" in ready:
            why = (ready or {}).get("setup_error") or (
                "start-up took too long" if killed_for == "startup" else "it exited during start-up"
            )
            raise SandboxError(f"the sandbox could not start: {why}\n{log_tail}")
        return SandboxRun(
            exit_code=code if code >= 0 else None,
            signal=-code if code < 0 else None,
            killed_for=killed_for,
            ready=ready,
            seconds=ended - ready_at,
            startup_seconds=ready_at - started,
            runtime_rss_kb=int(ready.get("runtime_rss_kb", 0)),
            peak_rss_kb=peak_kb,
            log_tail=log_tail,
            isolation=dict(ready.get("isolation", {})),
        )

    def _disk_used(self) -> int:
        """Bytes the run has written into its folder (infinite past too many entries)."""
        total, entries = 0, 0
        pending = [str(self.work_dir)]
        while pending:
            try:
                scan = os.scandir(pending.pop())
            except OSError:
                continue
            with scan:
                for entry in scan:
                    entries += 1
                    if entries > MAX_WORK_ENTRIES:
                        return sys.maxsize
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(entry.path)
                        elif entry.inode() not in self._placed:
                            total += entry.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        continue
        return total

    def _log_tail(self) -> str:
        try:
            with open(self.job_dir / "log", "rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - LOG_TAIL_BYTES))
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return ""


def _first_message(data: bytes) -> dict[str, Any] | None:
    line, newline, _ = data.partition(b"\n")
    if not newline:
        return None
    try:
        message = json.loads(line)
    except ValueError:
        return {"setup_error": "garbled message from the sandbox"}
    return message if isinstance(message, dict) else None


def _drain(channel: int) -> bytes:
    data = b""
    while len(data) < MAX_CHANNEL_BYTES:
        readable, _, _ = select.select([channel], [], [], 0)
        if not readable:
            break
        chunk = os.read(channel, MAX_CHANNEL_BYTES)
        if not chunk:
            break
        data += chunk
    return data
