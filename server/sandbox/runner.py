"""The sandbox process: ``python -I -B .../server/sandbox/runner.py JOB_FD CHANNEL_FD``.

Started by :mod:`server.sandbox.launcher` (inside bubblewrap) with a clean
environment. It reads the job from an inherited descriptor (the job's folder
is not visible inside), finishes and checks its confinement
(:func:`server.sandbox.isolation.enter`), then calls the workload named in
the job as ``module:function(args, ready)``. The workload loads its runtime
(torch), then calls ``ready(info)``: the resource limits go on and one JSON
line goes to the launcher over the channel, which is then closed, all before
the workload touches anything a team sent. So the launcher can trust what
arrives on the channel; everything later (files in the working directory,
the exit status) may come from the model.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any, BinaryIO

if __name__ == "__main__":
    # Started by path in isolated mode (no PYTHONPATH, no script folder on the
    # path): the project that holds this file is where ``server`` comes from.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from server.sandbox import isolation  # noqa: E402

SETUP_FAILED = 70


def _send(channel: BinaryIO, message: dict[str, Any]) -> None:
    channel.write(json.dumps(message).encode() + b"\n")
    channel.flush()


def main(argv: list[str]) -> int:
    job_fd, channel_fd = int(argv[1]), int(argv[2])
    channel = os.fdopen(channel_fd, "wb")
    try:
        with os.fdopen(job_fd, encoding="utf-8") as handle:
            job = json.load(handle)
        achieved = isolation.enter(isolation.Plan(**job["isolation"]))
        # The working directory is the only writable place: caches go there too.
        os.environ["HOME"] = os.environ["TMPDIR"] = os.getcwd()
        sys.path[:0] = job.get("python_path", [])
        module_name, function_name = job["entry"].split(":")
        workload = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:  # noqa: BLE001 - reported to the launcher as a platform fault
        _send(channel, {"setup_error": f"{type(error).__name__}: {error}"})
        return SETUP_FAILED
    limits = isolation.Limits(**job["limits"])
    sent = False

    def ready(info: dict[str, Any], limit_address_space: bool = True) -> None:
        nonlocal sent
        footprint = isolation.apply_limits(limits, limit_address_space)
        _send(channel, {"ready": True, "isolation": achieved, **footprint, **info})
        channel.close()
        sent = True

    try:
        code = workload(job["args"], ready)
    except Exception as error:
        if sent:
            raise  # the model's fault: the traceback goes to the log
        _send(channel, {"setup_error": f"{type(error).__name__}: {error}"})
        return SETUP_FAILED
    return int(code or 0)


if __name__ == "__main__":
    exit_code = main(sys.argv)
    # Skip the interpreter's teardown (torch's takes a while): the results are on disk.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)
