"""The sandbox's modes: programs need full isolation; weights run under any."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from server.checkpoints.runner import CheckpointError, check_outputs, evaluate_checkpoint
from server.config import get_settings
from server.sandbox import launcher
from server.sandbox.launcher import SandboxError
from tests.checkpoints.helpers import ALL_FORMATS, Exported

SPEC = {"formats": ALL_FORMATS, "time_limit_seconds": 60}


@pytest.fixture
def without_root(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that cannot isolate (not root): no uid, no namespaces."""
    monkeypatch.setattr(launcher, "isolation_available", lambda: False)


def test_programs_are_refused_without_isolation(
    without_root: None, exported: Exported, inputs_file: Path
) -> None:
    # A platform error (SandboxError), not the team's: nothing was started.
    with pytest.raises(SandboxError, match="cannot isolate programs"):
        evaluate_checkpoint(exported.torchscript, None, None, inputs_file, SPEC)


def test_weights_still_run_without_isolation(
    without_root: None, exported: Exported, inputs_file: Path
) -> None:
    result = evaluate_checkpoint(exported.safetensors, None, exported.config, inputs_file, SPEC)
    assert np.array_equal(result.outputs.argmax(axis=1), exported.predictions)
    assert result.parameter_count == exported.parameter_count


def test_a_trusted_machine_may_run_programs_unisolated(
    without_root: None, exported: Exported, inputs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_SANDBOX_REQUIRE_ISOLATION", "false")
    get_settings.cache_clear()
    result = evaluate_checkpoint(exported.export, None, None, inputs_file, SPEC)
    assert np.array_equal(result.outputs.argmax(axis=1), exported.predictions)


def _npy(array: np.ndarray) -> bytes:
    import io

    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, "the model produced no outputs"),
        (b"not an npy file", "outputs are unreadable"),
        (_npy(np.array(["a", "b"])), "outputs are unreadable"),
        (_npy(np.zeros((3, 10), dtype=np.float32))[:-4], "outputs are unreadable"),
        (_npy(np.zeros((3, 10, 1), dtype=np.float32)), r"output shape \(3, 10, 1\)"),
        (_npy(np.zeros((4, 10), dtype=np.float32)), r"output shape \(4, 10\), expected \(3, "),
        (_npy(np.array([[0.0, np.inf], [0, 0], [np.nan, 1]])), "on 2 of 3 inputs"),
    ],
)
def test_outputs_are_checked_as_untrusted_data(raw: bytes | None, expected: str) -> None:
    with pytest.raises(CheckpointError, match=expected):
        check_outputs(raw, 3)
