"""`python -m baselines`: each baseline's dry run, the sweep, and --submit with a fake client.

Submitting to a live server is left to the end-to-end tests (tests/e2e).
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from baselines.cli import main
from baselines.data import TRAIN_IMAGES, TRAIN_LABELS
from baselines.export import load_checkpoint
from baselines.models import MODEL_FAMILIES
from server.submissions import metadata


def dry_run(challenge_dir: Path) -> list[str]:
    return ["--dry-run", "--data", str(challenge_dir)]


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="") as file:
        return list(csv.reader(file))


@pytest.mark.parametrize("family", sorted(MODEL_FAMILIES))
def test_each_baseline_runs_dry(
    family: str, challenge_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["train", "--model", family, *dry_run(challenge_dir), "--out", str(out)]) == 0
    rows = read_csv(out / "predictions.csv")
    assert rows[0] == ["id", "label"]
    assert [int(row[0]) for row in rows[1:]] == list(range(10_000))
    assert {row[1] for row in rows[1:]} <= {str(label) for label in range(10)}
    load_checkpoint(out / "model.safetensors", out / "model.json")
    output = capsys.readouterr().out
    assert "epoch   1/1" in output and "predictions.csv" in output


def test_hyper_parameters_from_the_command_line(challenge_dir: Path, tmp_path: Path) -> None:
    argv = [
        "train", "--model", "mlp", "--dry-run", "--data", str(challenge_dir), "--out",
        str(tmp_path), "--hidden", "32,16", "--activation", "sigmoid", "--dropout", "0.1",
        "--lr", "0.01", "--batch-size", "16", "--epochs", "4", "--torchscript",
    ]  # fmt: skip
    assert main(argv) == 0
    config = (tmp_path / "model.json").read_text()
    assert '"hidden": [\n    32,\n    16\n  ]' in config and '"sigmoid"' in config
    assert (tmp_path / "model.pt").is_file()


def test_an_invalid_config_is_one_clear_line(
    challenge_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "--model", "mlp", "--hidden", "0", "--dry-run", "--data", str(challenge_dir)]
    assert main(argv) == 1
    assert capsys.readouterr().err.startswith("error: hidden[0] must be between 1 and")


def test_a_missing_data_directory_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--model", "neuron", "--dry-run", "--data", str(tmp_path)]) == 1
    assert "is not a challenge directory" in capsys.readouterr().err


def test_a_malformed_list_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--model", "mlp", "--hidden", "256,big"])
    assert exit_info.value.code == 2
    assert "expected integers separated by commas" in capsys.readouterr().err


def test_the_sweep_runs_dry(
    challenge_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sweep", "--model", "mlp", *dry_run(challenge_dir), "--out", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    assert "trial   0: validation" in output and "trial   1" in output
    assert "best of 2 trials" in output
    assert "to train it again: python -m baselines train --model mlp --hidden" in output
    assert len(read_csv(tmp_path / "predictions.csv")) == 10_001


# --submit, with a stand-in for the `podium` client library ------------------------------


@dataclass
class FakeSubmission:
    id: int
    status: str = "queued"
    public_score: float | None = None
    error: str | None = None
    remaining_today: int | None = None


class FakeClient:
    calls: list[tuple[str, Any]] = []

    def __enter__(self) -> FakeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def download(self, slug: str, path: Path) -> list[object]:
        self.calls.append(("download", (slug, Path(path))))
        shutil.copytree(FakeClient.source, path)
        return []

    def submit(self, slug: str, file: Path, message: str | None = None, **kwargs: Any) -> Any:
        self.calls.append(("submit", (slug, Path(file).name, message, kwargs)))
        return FakeSubmission(id=7)

    def wait(self, submission_id: int) -> FakeSubmission:
        self.calls.append(("wait", submission_id))
        return FakeSubmission(submission_id, "scored", public_score=0.97, remaining_today=4)

    source: Path


class FakePodiumError(Exception):
    pass


@pytest.fixture
def fake_podium(monkeypatch: pytest.MonkeyPatch, challenge_dir: Path) -> type[FakeClient]:
    module = types.ModuleType("podium")
    module.Client = FakeClient  # type: ignore[attr-defined]
    module.PodiumError = FakePodiumError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "podium", module)
    FakeClient.calls = []
    FakeClient.source = challenge_dir
    return FakeClient


def assert_fact_sheet(sheet: dict[str, Any], family: str, epochs: int) -> None:
    """The run's hyper-parameters and curve, in a form the server accepts as it is."""
    assert metadata.parse(json.dumps(sheet)) == sheet
    assert sheet["model"] == family and sheet["epochs"] == epochs
    assert sheet["optimizer"] == "adam" and sheet["learning_rate"] > 0
    assert [point["epoch"] for point in sheet["curve"]] == list(range(1, epochs + 1))
    assert all(point["train_loss"] >= 0 for point in sheet["curve"])
    assert sheet["parameters"] > 0


def test_submit_downloads_the_challenge_then_sends_the_csv(
    fake_podium: type[FakeClient],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--model", "neuron", "--dry-run", "--submit", "mnist"]) == 0
    (download, (slug, path)), submit, wait = fake_podium.calls
    assert (download, slug, path) == ("download", "mnist", Path("data/mnist"))
    assert submit[1][:2] == ("mnist", "predictions.csv")
    assert submit[1][2].startswith("neuron, 1 epoch, seed 1")
    sheet = submit[1][3].pop("metadata")
    assert submit[1][3] == {"kind": "csv"}
    assert_fact_sheet(sheet, "neuron", epochs=1)
    assert wait == ("wait", 7)
    assert (tmp_path / "runs" / "neuron" / "predictions.csv").is_file()
    assert "public score 0.97 (4 submissions left today)" in capsys.readouterr().out


def test_submit_as_checkpoint_sends_weights_and_config(
    fake_podium: type[FakeClient], challenge_dir: Path, tmp_path: Path
) -> None:
    argv = [
        "train", "--model", "mlp", "--dry-run", "--data", str(challenge_dir), "--out",
        str(tmp_path), "--submit", "mnist", "--as", "checkpoint", "-m", "my cnn",
    ]  # fmt: skip
    assert main(argv) == 0
    (_, (slug, name, message, kwargs)) = fake_podium.calls[0]
    assert (slug, name, message) == ("mnist", "model.safetensors", "my cnn")
    sheet = kwargs.pop("metadata")
    assert kwargs == {"kind": "checkpoint", "config": tmp_path / "model.json"}
    assert_fact_sheet(sheet, "mlp", epochs=1)
    assert sheet["hidden_sizes"] and sheet["activation"]


def test_submit_without_the_client_says_how_to_install_it(
    challenge_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "podium", None)  # makes `import podium` fail
    argv = ["train", "--model", "neuron", "--dry-run", "--data", str(challenge_dir)]
    assert main([*argv, "--out", str(tmp_path), "--submit", "mnist"]) == 1
    assert "pip install podium-client" in capsys.readouterr().err
    assert (tmp_path / "predictions.csv").is_file()  # the files are there to submit later


# Challenges that keep their test inputs hidden (docs/checkpoints.md) -------------------


@pytest.fixture(scope="session")
def hidden_inputs_dir(tmp_path_factory: pytest.TempPathFactory, challenge_dir: Path) -> Path:
    """What `podium download` leaves of a challenge whose test inputs stay on the server."""
    directory = tmp_path_factory.mktemp("hidden-inputs")
    for name in (TRAIN_IMAGES, TRAIN_LABELS):
        shutil.copy(challenge_dir / name, directory / name)
    return directory


def test_a_checkpoint_submission_needs_no_test_inputs(
    fake_podium: type[FakeClient],
    hidden_inputs_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue #18, defect 12: `--as checkpoint` asked for t10k-images, which such a
    challenge does not publish."""
    fake_podium.source = hidden_inputs_dir
    monkeypatch.chdir(tmp_path)
    argv = ["train", "--model", "cnn", "--dry-run", "--submit", "hidden", "--as", "checkpoint"]
    assert main(argv) == 0
    download, submit, wait = fake_podium.calls
    assert download == ("download", ("hidden", Path("data/hidden")))
    assert submit[1][:2] == ("hidden", "model.safetensors")
    assert submit[1][3].pop("metadata")["model"] == "cnn"
    assert submit[1][3] == {"kind": "checkpoint", "config": Path("runs/cnn/model.json")}
    assert wait == ("wait", 7)
    out = tmp_path / "runs" / "cnn"
    load_checkpoint(out / "model.safetensors", out / "model.json")
    assert not (out / "predictions.csv").exists()
    assert "no test images here: no predictions.csv" in capsys.readouterr().out


def test_a_csv_submission_without_test_inputs_is_refused_before_training(
    fake_podium: type[FakeClient],
    hidden_inputs_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["train", "--model", "neuron", "--data", str(hidden_inputs_dir), "--submit", "hidden"]
    assert main([*argv, "--out", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "no test images" in error
    assert "--as checkpoint" in error
    assert fake_podium.calls == [] and not any(tmp_path.iterdir())  # nothing trained or sent
