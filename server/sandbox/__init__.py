"""The sandbox: run code we do not trust (a team's model) in a separate, confined process.

- ``launcher`` (the parent side): a private working directory, an unused uid,
  the child process, the wall-clock, disk and process watch, the clean-up.
- ``runner`` (the child's entry point, ``python -I server/sandbox/runner.py``):
  enters the isolation, then calls the workload.
- ``isolation`` (in the child, as root): namespaces, mounts, privileges, limits.
- ``inference`` (the workload for checkpoints): loads a model and runs it on the
  hidden inputs.

Nothing here imports torch in the parent; see docs/checkpoints.md for the design.
"""
