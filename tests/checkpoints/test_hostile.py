"""Hostile checkpoints: code that runs when loaded, and models that abuse resources.

The code runs for real: ``torch.export.load`` falls back to an unrestricted
unpickler for a .pt2 archive's sample inputs, so a crafted .pt2 runs what it
likes when it is loaded. It never runs in the worker (here: the test process),
and inside the sandbox it meets a wall everywhere it looks.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from server.challenges.schemas import CheckpointSpec
from server.checkpoints.runner import (
    SANDBOX_PACKAGES,
    WORKLOAD,
    CheckpointError,
    evaluate_checkpoint,
    hidden_folders,
    sandbox_limits,
)
from server.config import get_settings
from server.sandbox.launcher import UID_BASE, UID_COUNT, Sandbox, _processes_of, sandbox_root
from tests.checkpoints.helpers import (
    ALL_FORMATS,
    ROWS,
    Exported,
    connections_seen,
    hostile_program,
    malicious_torch_save,
    require_root,
    submit_checkpoint,
    wait_finished,
)

SECRET = "s3cret-" + "x" * 40
SPEC = {"formats": ALL_FORMATS, "batch_size": 128, "time_limit_seconds": 30}


@pytest.fixture
def secret(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The server's secret key, set in the worker's environment."""
    require_root()
    monkeypatch.setenv("PODIUM_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    return SECRET


def _probe_code(port: int, writes: list[Path], reads: list[Path]) -> str:
    """Look for every way out; write what was found to probe.json in the working folder."""
    return f"""
import json, os, socket
report = {{"uid": os.getuid(), "cwd": os.getcwd(), "env": dict(os.environ)}}
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
    report["network"] = "connected"
except OSError as error:
    report["network"] = str(error)
report["writes"], report["reads"] = {{}}, {{}}
for path in {[str(p) for p in writes]!r}:
    try:
        with open(path, "w") as handle:
            handle.write("pwned")
        report["writes"][path] = "written"
    except OSError as error:
        report["writes"][path] = error.strerror
for path in {[str(p) for p in reads]!r}:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
        report["reads"][path] = "read"
    except OSError as error:
        report["reads"][path] = error.strerror
report["processes"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
os.environ["PODIUM_PWNED"] = "1"
with open("probe.json", "w") as handle:
    json.dump(report, handle)
"""


def _targets(data_dir: Path, tmp_path: Path) -> tuple[list[Path], list[Path]]:
    name = f"podium-pwned-{os.getpid()}"
    writes = [
        tmp_path / name,
        Path.cwd() / name,
        data_dir / name,
        Path("/tmp") / name,
        Path("/var/tmp") / name,
        Path("/dev/shm") / name,
        Path.home() / name,
    ]
    reads = [data_dir / "podium.db", Path(f"/proc/{os.getpid()}/environ"), Path("/etc/shadow")]
    return writes, reads


def _no_sandbox_processes() -> bool:
    """No process is left under a pool uid that no sandbox holds.

    Other workers (or test runs) on this host may hold uids of the pool
    meanwhile: their processes are theirs, so held uids are skipped.
    """
    locks = sandbox_root() / "uids"
    for uid in range(UID_BASE, UID_BASE + UID_COUNT):
        try:
            handle = os.open(locks / f"{uid}.lock", os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            handle = None
        try:
            if handle is not None:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # held by a running sandbox
        else:
            if _processes_of(uid):
                return False
        finally:
            if handle is not None:
                os.close(handle)
    return True


def test_program_code_runs_only_in_the_sandbox_and_meets_walls(
    secret: str,
    data_dir: Path,
    exported: Exported,
    inputs_file: Path,
    listener: object,
    tmp_path: Path,
) -> None:
    import socket

    assert isinstance(listener, socket.socket)
    writes, reads = _targets(data_dir, tmp_path)
    code = _probe_code(listener.getsockname()[1], writes, reads)
    program = hostile_program(exported, tmp_path, code, "probe.pt2")
    with Sandbox(
        require_isolation=True, hide=hidden_folders(get_settings()), packages=SANDBOX_PACKAGES
    ) as box:
        box.add_file(program, "model.pt2")
        box.add_file(inputs_file, "inputs.npy")
        args = {"format": "export", "threads": 1, "batch_size": 128, "memory_mb": 512}
        run = box.run(WORKLOAD, args, sandbox_limits(CheckpointSpec(), ROWS, 1))
        raw = box.open_output("probe.json", 1 << 20)
        uid = box.uid
    assert raw is not None, run.log_tail  # the code did run: in the sandbox
    report = json.loads(raw)
    assert run.isolation == {
        "user": True,
        "network": True,
        "filesystem": True,
        "processes": True,
        "seccomp": True,
    }
    assert report["uid"] == uid and uid != 0
    assert report["cwd"] == "/tmp/sandbox"
    # No network: a fresh network namespace has only a loopback of its own.
    assert report["network"] != "connected", report["network"]
    assert connections_seen(listener) == 0
    # No secret: the environment is rebuilt from nothing.
    assert secret not in json.dumps(report["env"])
    assert not [name for name in report["env"] if name.startswith("PODIUM")]
    # Nothing written outside the working folder, nothing of ours read.
    assert "written" not in report["writes"].values(), report["writes"]
    assert not [path for path in writes if path.exists()]
    assert "read" not in report["reads"].values(), report["reads"]
    # Only its own processes are visible: a PID namespace where bubblewrap's
    # reaper is 1 and the sandbox process 2.
    assert report["processes"] == [1, 2], report["processes"]
    # And the worker is untouched.
    assert "PODIUM_PWNED" not in os.environ


def test_the_same_program_over_http_fails_cleanly(
    secret: str,
    api: TestClient,
    participant_token: str,
    checkpoint_challenge: str,
    data_dir: Path,
    exported: Exported,
    listener: object,
    tmp_path: Path,
) -> None:
    import socket

    assert isinstance(listener, socket.socket)
    writes, reads = _targets(data_dir, tmp_path)
    code = _probe_code(listener.getsockname()[1], writes, reads)
    program = hostile_program(exported, tmp_path, code, "model.pt2")
    result = submit_checkpoint(api, participant_token, checkpoint_challenge, program)
    assert result["status_code"] == 201, result
    finished = wait_finished(api, participant_token, result["id"])
    assert finished["status"] == "failed"
    assert str(finished["error"]).startswith("the model could not be loaded: ")
    assert secret not in json.dumps(finished)
    assert connections_seen(listener) == 0
    assert not [path for path in writes if path.exists()]
    assert "PODIUM_PWNED" not in os.environ


def test_a_pickle_passed_off_as_safetensors_is_refused_by_the_loader(
    secret: str, exported: Exported, inputs_file: Path, tmp_path: Path
) -> None:
    """Past the upload checks (e.g. a worker fed directly), the weights loader refuses it."""
    marker = tmp_path / "marker"
    weights = tmp_path / "weights"
    weights.write_bytes(malicious_torch_save(f"open({str(marker)!r}, 'w').write('ran')"))
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        evaluate_checkpoint(weights, "safetensors", exported.config, inputs_file, SPEC)
    assert not marker.exists()


def test_an_infinite_loop_is_stopped_at_the_limit(
    secret: str, exported: Exported, inputs_file: Path, tmp_path: Path
) -> None:
    program = hostile_program(exported, tmp_path, "while True:\n    pass\n", "loop.pt2")
    with pytest.raises(CheckpointError, match=r"exceeded the 2 s limit"):
        evaluate_checkpoint(program, None, None, inputs_file, SPEC | {"time_limit_seconds": 2})
    assert _no_sandbox_processes()


def test_a_memory_bomb_runs_out_of_memory_at_the_limit(
    secret: str, exported: Exported, inputs_file: Path, tmp_path: Path
) -> None:
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(32 * 2**20))\n"
    program = hostile_program(exported, tmp_path, code, "bomb.pt2")
    with pytest.raises(CheckpointError, match=r"ran out of memory: the limit is 256 MB"):
        evaluate_checkpoint(program, None, None, inputs_file, SPEC | {"memory_limit_mb": 256})


def test_a_fork_bomb_is_contained_and_the_next_job_runs(
    secret: str, exported: Exported, inputs_file: Path, tmp_path: Path
) -> None:
    """Every child leaves the process group (setsid): only the uid finds them all."""
    code = (
        "import os\n"
        "while True:\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            os.setsid()\n"
        "    except OSError:\n"
        "        pass\n"
    )
    program = hostile_program(exported, tmp_path, code, "forks.pt2")
    with pytest.raises(CheckpointError, match=r"exceeded the 3 s limit"):
        evaluate_checkpoint(program, None, None, inputs_file, SPEC | {"time_limit_seconds": 3})
    assert _no_sandbox_processes()
    result = evaluate_checkpoint(exported.torchscript, None, None, inputs_file, SPEC)
    assert np.array_equal(result.outputs.argmax(axis=1), exported.predictions)


def test_a_10_gb_output_is_cut_at_the_file_size_limit(
    secret: str, exported: Exported, inputs_file: Path, tmp_path: Path
) -> None:
    code = (
        "chunk = b'x' * (1 << 24)\n"
        "with open('outputs.npy', 'wb') as handle:\n"
        "    for _ in range(640):\n"  # 10 GiB
        "        handle.write(chunk)\n"
    )
    program = hostile_program(exported, tmp_path, code, "huge.pt2")
    with pytest.raises(CheckpointError, match=r"wrote a file larger than the 67 MB limit"):
        evaluate_checkpoint(program, None, None, inputs_file, SPEC)


def test_many_files_are_cut_at_the_disk_limit(
    secret: str, exported: Exported, inputs_file: Path, tmp_path: Path
) -> None:
    code = (
        "chunk = b'x' * (8 << 20)\n"
        "for i in range(100):\n"  # 800 MiB in 8 MiB files, each under the file size limit
        "    with open(f'part-{i}', 'wb') as handle:\n"
        "        handle.write(chunk)\n"
        "import time\n"
        "time.sleep(30)\n"
    )
    program = hostile_program(exported, tmp_path, code, "disk.pt2")
    with pytest.raises(CheckpointError, match=r"wrote more than 135 MB into its working folder"):
        evaluate_checkpoint(program, None, None, inputs_file, SPEC)


def test_outputs_that_point_elsewhere_are_not_followed(
    secret: str, data_dir: Path, exported: Exported, inputs_file: Path, tmp_path: Path
) -> None:
    """A model owns its folder: a symlink it leaves there must not make us read our files."""
    target = data_dir / "podium.db"
    code = (
        "import os\n"
        f"os.symlink({str(target)!r}, 'outputs.npy')\n"
        f"os.symlink({str(target)!r}, 'result.json')\n"
        "os._exit(0)\n"
    )
    program = hostile_program(exported, tmp_path, code, "links.pt2")
    with pytest.raises(CheckpointError, match="the model produced no outputs"):
        evaluate_checkpoint(program, None, None, inputs_file, SPEC)
