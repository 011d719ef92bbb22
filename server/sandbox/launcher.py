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
The watching itself (clock, memory, disk, how it ended) is
:mod:`server.sandbox.supervise`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any

from server.sandbox import bwrap, cgroups
from server.sandbox.host import (
    _expose_paths,
    cgroup_support,
    clean_environment,
    isolation_available,
    root_path,
    startup_report,
)
from server.sandbox.isolation import Limits
from server.sandbox.supervise import (
    STARTUP_TIMEOUT_SECONDS,
    SandboxError,
    SandboxLimits,
    SandboxRun,
    Watched,
    disk_used,
    supervise,
)
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
    "SandboxLimits",
    "SandboxRun",
    "_processes_of",
    "clean_environment",
    "isolation_available",
    "kill_uid",
    "startup_report",
]

log = logging.getLogger(__name__)

RUNNER = Path(__file__).resolve().with_name("runner.py")


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
            watched = Watched(
                limits=limits,
                started=started,
                on_ready=lambda: self._on_ready(process.pid, limits.memory_mb),
                disk_used=lambda: disk_used(self.work_dir, self._placed),
                log=self.job_dir / "log",
                reaper=self._monitor is not None,
            )
            try:
                return supervise(process, read_end, watched)
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
            return subprocess.Popen(
                argv, cwd=self.job_dir, pass_fds=(job_fd, channel), start_new_session=True, **popen
            )
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
        return process

    def _on_ready(self, pid: int, memory_mb: int) -> int:
        """The runtime is loaded: set the cgroup's memory; the pid to sample (the sandbox's own)."""
        if self._cgroup is not None:
            self._cgroup.limit_memory(memory_mb)
        if self._monitor is not None:
            return next(iter(bwrap.children(self._monitor)), pid)
        return pid

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if self._cgroup is not None:
            self._cgroup.remove()
        if self._uid is not None:
            kill_uid(self._uid.uid)
