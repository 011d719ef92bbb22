"""Checkpoint submissions: a trained model instead of a predictions file.

- ``formats``: what a file is (read as data, never loaded), the file names both
  sides of the sandbox use;
- ``upload``: the checks at upload (format, model config, tensors), a 422 before
  any quota is taken;
- ``runner``: evaluate a checkpoint in ``server.sandbox`` and score it into an
  ``Outcome`` (both transports end here);
- ``outputs``: what comes back from the sandbox, checked and aligned;
- ``inference``: the workload that runs inside the sandbox (the only module
  that imports torch);
- ``tensors``: comparing a checkpoint's tensors with its architecture.

See docs/checkpoints.md.
"""
