"""The sandbox: run code we do not trust (a team's model) in a separate, confined process.

- ``launcher`` (the parent side): a private working directory, an unused uid,
  the child process, the clean-up; ``supervise``: the watch while it runs
  (wall clock from "ready", peak memory, disk) and how it ended.
- ``host``: what this host offers (bubblewrap's mode, cgroups), the start-up
  log line, and what the sandbox is given (environment, read-only paths).
- ``bwrap``: bubblewrap's command line (namespaces, binds, a fresh ``/proc``
  and ``/tmp``) and the start handshake; ``seccomp``: the system call filter;
  ``cgroups``: per-run memory and process limits in a cgroup v2; ``uids``: the
  pool of per-run uids.
- ``runner`` (the child's entry point, ``python -I server/sandbox/runner.py``):
  checks the isolation from inside (``isolation``), then calls the workload.

The workload is named by the caller (``module:function``) and knows what it
runs; this package knows nothing of models. Checkpoints use it through
``server.checkpoints.runner`` (workload: ``server.checkpoints.inference``).
Nothing here imports torch; see docs/checkpoints.md for the design.
"""
