"""Process supervision: watch a started sandbox until it ends, then say how it ended.

The launcher (:mod:`server.sandbox.launcher`) starts the child and hands it
here with the read end of its channel. The supervisor reads the child's
first message ("ready", once the runtime is loaded), starts the model's
wall clock at that moment, samples the peak resident memory, checks the
disk the working folder uses, and kills the child's process group when a
limit is passed. What it returns (:class:`SandboxRun`) is observed from
outside the sandbox, so it can be trusted; what the child says of itself is
kept apart (``ready``).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.sandbox import bwrap
from server.sandbox.host import high_water_kb

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


@dataclass(frozen=True)
class Watched:
    """What the supervisor needs to know of one run, from the launcher.

    ``on_ready`` is called once the runtime is loaded (it sets the run's
    memory limit) and returns the pid whose memory to sample from then on;
    ``disk_used`` measures the working folder; ``reaper`` says the child is
    bubblewrap's pid 1, whose exit status encodes the sandbox process's.
    """

    limits: SandboxLimits
    started: float
    on_ready: Callable[[], int]
    disk_used: Callable[[], int]
    log: Path
    reaper: bool = False


def supervise(process: subprocess.Popen[bytes], channel: int, run: Watched) -> SandboxRun:
    """Wait for ``process`` under ``run.limits``; :class:`SandboxError` if it never started."""
    limits, started = run.limits, run.started
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
    watched = process.pid
    next_disk_check = started
    try:
        while True:
            waiting = ([exited] if exited is not None else []) + ([channel] if channel_open else [])
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
                    ready = first_message(messages)
                    if ready is not None and ready.get("ready"):
                        ready_at = time.monotonic()
                        deadline = ready_at + limits.wall_seconds
                        watched = run.on_ready()
            if status is not None or (exited is not None and exited in readable):
                break
            if time.monotonic() >= deadline:
                killed_for = "time" if ready is not None else "startup"
                break
            if ready is not None:
                peak_kb = max(peak_kb, high_water_kb(watched))
                if time.monotonic() >= next_disk_check:
                    next_disk_check = time.monotonic() + DISK_CHECK_SECONDS
                    if run.disk_used() > limits.disk_bytes:
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
    code = bwrap.returncode(process.returncode) if run.reaper else process.returncode
    ended = time.monotonic()
    if ready is None:
        messages += drain(channel)
        ready = first_message(messages)
    log_tail = tail(run.log)
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


def disk_used(folder: Path, placed: Collection[int]) -> int:
    """Bytes written into ``folder`` but not ``placed`` by us (infinite past too many entries)."""
    total, entries = 0, 0
    pending = [str(folder)]
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
                    elif entry.inode() not in placed:
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
                except OSError:
                    continue
    return total


def tail(log: Path) -> str:
    """The last bytes of the run's log (its stdout and stderr)."""
    try:
        with open(log, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - LOG_TAIL_BYTES))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def first_message(data: bytes) -> dict[str, Any] | None:
    line, newline, _ = data.partition(b"\n")
    if not newline:
        return None
    try:
        message = json.loads(line)
    except ValueError:
        return {"setup_error": "garbled message from the sandbox"}
    return message if isinstance(message, dict) else None


def drain(channel: int) -> bytes:
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
