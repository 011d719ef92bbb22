"""Sandbox start: what bubblewrap and the seccomp filter add to every job.

    .venv/bin/python benchmarks/sandbox_start.py [--runs 20]

Runs ``true`` (a) directly and (b) confined exactly as a job is (the same
bubblewrap command line, binds and filter), in each mode this host offers
(``userns``: bubblewrap as an unused uid in a user namespace; ``root``),
alternately, and prints the medians. Needs root and bubblewrap. A job's own
start (Python, then torch) comes on top and is measured by
``benchmarks/checkpoints.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time

from server.sandbox import bwrap, seccomp

PROBE_UID = bwrap.PROBE_UID


def _confined(mode: str) -> float:
    handle = seccomp.bpf_fd()
    try:
        argv = bwrap.command(mode, PROBE_UID, ["true"], seccomp_fd=handle)
        user = {"user": PROBE_UID, "group": PROBE_UID, "extra_groups": []}
        started = time.perf_counter()
        subprocess.run(argv, pass_fds=(handle,), check=True, **(user if mode == "userns" else {}))
        return time.perf_counter() - started
    finally:
        os.close(handle)


def _plain() -> float:
    started = time.perf_counter()
    subprocess.run(["true"], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    support = bwrap.support()
    if not support.modes:
        raise SystemExit(f"no sandbox here: {support.reason}")
    started = time.perf_counter()
    os.close(seccomp.bpf_fd())
    print(f"seccomp filter built in {1000 * (time.perf_counter() - started):.1f} ms")
    for mode in support.modes:
        confined, plain = [], []
        for _ in range(runs):
            confined.append(_confined(mode))
            plain.append(_plain())
        print(
            f"{mode:7s} confined `true`: median {1000 * statistics.median(confined):.1f} ms, "
            f"direct: {1000 * statistics.median(plain):.1f} ms ({runs} runs each)"
        )


if __name__ == "__main__":
    main()
