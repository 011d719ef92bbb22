"""The sandbox's seccomp filter, built with libseccomp and handed to bubblewrap.

Everything is allowed except the system calls below, which fail with
``EPERM`` (``clone3``: ``ENOSYS``, so that libc falls back to ``clone``, whose
flags a filter can read). System calls of another architecture (e.g. 32-bit
``int 0x80`` calls on x86-64) kill the process: the filter knows only the
native one.

The list covers what a program needs to attack the kernel or leave the
sandbox: tracing other processes, new namespaces or mounts, kernel keyrings,
BPF, perf events, ``userfaultfd``, kernel modules, file handles
(``open_by_handle_at`` was Docker's first escape), ``io_uring`` (a second
syscall surface that seccomp cannot see into), and changing the personality.
"""

from __future__ import annotations

import errno
import os
from typing import Any

try:  # a ctypes binding: it needs the system's libseccomp (Debian: libseccomp2)
    import pyseccomp as seccomp
except (ImportError, OSError) as error:  # pragma: no cover - depends on the host
    seccomp = None
    _MISSING = f"libseccomp is unavailable ({error})"

# Refused outright (EPERM). Names missing on an architecture are skipped.
REFUSED = (
    # the list
    "ptrace",
    "mount",
    "umount2",
    "pivot_root",
    "kexec_load",
    "kexec_file_load",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "userfaultfd",
    "unshare",
    "setns",
    "personality",
    # the new mount API and other ways around the filesystem walls
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "chroot",
    "open_by_handle_at",
    "name_to_handle_at",
    # other processes' memory
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    # the kernel itself
    "init_module",
    "finit_module",
    "delete_module",
    "iopl",
    "ioperm",
    "swapon",
    "swapoff",
    "reboot",
    "syslog",
    "acct",
    "quotactl",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "lookup_dcookie",
    "vhangup",
    "uselib",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
)
# clone() with any of these flags makes a namespace: refused.
NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
TIOCSTI = 0x5412  # pushes characters into a terminal's input


class SeccompUnavailable(RuntimeError):
    """The filter cannot be built on this host."""


def build() -> Any:
    """The filter (a ``pyseccomp.SyscallFilter``, not loaded): allow all but the list above."""
    if seccomp is None:
        raise SeccompUnavailable(_MISSING)
    refuse = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in REFUSED:
        try:
            rules.add_rule(refuse, name)
        except (ValueError, RuntimeError, OSError):
            continue  # not a system call on this architecture
    for flag in NAMESPACE_FLAGS.values():
        rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    rules.add_rule(refuse, "ioctl", seccomp.Arg(1, seccomp.MASKED_EQ, 0xFFFFFFFF, TIOCSTI))
    return rules


def bpf_fd() -> int:
    """A file descriptor holding the compiled filter, at offset 0 (for ``bwrap --seccomp``).

    The caller closes it once bubblewrap has started.
    """
    handle = os.memfd_create("podium-seccomp", os.MFD_CLOEXEC)
    try:
        with os.fdopen(os.dup(handle), "wb") as file:
            build().export_bpf(file)
        os.lseek(handle, 0, os.SEEK_SET)
    except BaseException:
        os.close(handle)
        raise
    return handle
