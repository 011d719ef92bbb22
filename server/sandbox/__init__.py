"""The sandbox: run code we do not trust (a team's model) in a separate, confined process.

- ``launcher`` (the parent side): a private working directory, an unused uid,
  the child process, the wall-clock, disk and process watch, the clean-up.
- ``host``: what this host offers (bubblewrap's mode, cgroups), the start-up
  log line, and what the sandbox is given (environment, read-only paths).
- ``bwrap``: bubblewrap's command line (namespaces, binds, a fresh ``/proc``
  and ``/tmp``) and the start handshake; ``seccomp``: the system call filter;
  ``cgroups``: per-run memory and process limits in a cgroup v2; ``uids``: the
  pool of per-run uids.
- ``runner`` (the child's entry point, ``python -I server/sandbox/runner.py``):
  checks the isolation from inside (``isolation``), then calls the workload.
- ``inference`` (the workload for checkpoints): loads a model and runs it on the
  hidden inputs.

Nothing here imports torch in the parent; see docs/checkpoints.md for the design.
"""
