"""PyTorch baselines that follow the course: one neuron, an MLP, a CNN.

Read the modules in this order (docs/baselines.md has the commands and the
accuracies they reach):

- :mod:`baselines.models`: the three model families and their configs, the
  single definition that Podium's checkpoint worker also builds from;
- :mod:`baselines.data`: a challenge directory's IDX files into tensors;
- :mod:`baselines.train`: the course's training loop;
- :mod:`baselines.export`: predictions CSV, weights-only checkpoint, TorchScript;
- :mod:`baselines.sweep`: hyper-parameter search with Optuna;
- :mod:`baselines.cli`: ``python -m baselines train|sweep``.

Import what you need from those modules (``from baselines.models import
build_model``): this package imports nothing itself, so that ``python -m
baselines`` can set up OpenMP before torch loads (see ``__main__.py``).
"""
