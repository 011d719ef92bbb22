"""The pool of sandbox uids: one unused uid (and gid) per running sandbox.

A uid is held with an exclusive ``flock`` so that concurrent workers on one
host never share one; every process of it is killed when it is taken and
when it is given back (a model may leave its session with ``setsid``).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import random
import signal
import time
from pathlib import Path

log = logging.getLogger(__name__)

UID_BASE = 61000
UID_COUNT = 1000


class PoolExhausted(RuntimeError):
    """Every sandbox uid is in use."""


def kill_uid(uid: int) -> int:
    """SIGKILL every process of ``uid`` until none is left; returns how many were found."""
    found = 0
    for _ in range(200):
        pids = _processes_of(uid)
        if not pids:
            return found
        found += len(pids)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
    log.error("processes of sandbox uid %d survive SIGKILL", uid)
    return found


def _processes_of(uid: int) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in lines if ":" in line)
        uids = fields.get("Uid", "").split()
        if str(uid) in uids and not fields.get("State", "").strip().startswith("Z"):
            pids.append(int(entry.name))
    return pids


class _UidLease:
    """One uid of the pool, held by an exclusive ``flock`` until released."""

    def __init__(self, root: Path) -> None:
        locks = root / "uids"
        locks.mkdir(mode=0o700, exist_ok=True)
        start = random.randrange(UID_COUNT)
        for offset in range(UID_COUNT):
            uid = UID_BASE + (start + offset) % UID_COUNT
            handle = os.open(locks / f"{uid}.lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(handle)
                continue
            self.uid, self._handle = uid, handle
            kill_uid(uid)  # leftovers of a worker that died mid-run
            return
        raise PoolExhausted("every sandbox uid is in use")

    def release(self) -> None:
        kill_uid(self.uid)
        os.close(self._handle)
