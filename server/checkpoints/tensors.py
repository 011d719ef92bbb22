"""Comparing the tensors a checkpoint has with those its architecture expects.

Works on anything with a ``shape`` and a ``dtype`` (torch tensors, meta
tensors): the upload check compares a safetensors header, the sandbox the
loaded weights. The messages are those of ``baselines`` (``tensor 'fc.weight'
has shape (8,1,3,3), expected (32,1,3,3)``), so a team sees the same words
locally and on the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def tensor_problems(found: Mapping[str, Any], expected: Mapping[str, Any]) -> list[str]:
    """Every difference between the tensors a file has and those a model expects."""
    problems = [f"unexpected tensor {name!r}" for name in found if name not in expected]
    problems += [f"missing tensor {name!r}" for name in expected if name not in found]
    for name, want in expected.items():
        got = found.get(name)
        if got is None:
            continue
        if got.shape != want.shape:
            problems.append(f"tensor {name!r} has shape {_shape(got)}, expected {_shape(want)}")
        if got.dtype != want.dtype:
            problems.append(f"tensor {name!r} has dtype {_dtype(got)}, expected {_dtype(want)}")
    return problems


def listed(problems: list[str], most: int) -> str:
    """The first ``most`` problems, then how many more."""
    shown = problems[:most]
    if len(problems) > len(shown):
        shown.append(f"and {len(problems) - len(shown)} more")
    return "; ".join(shown)


def _shape(tensor: Any) -> str:
    return "(" + ",".join(str(size) for size in tensor.shape) + ")"


def _dtype(tensor: Any) -> str:
    return str(tensor.dtype).removeprefix("torch.")
