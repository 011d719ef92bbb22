"""The walls bubblewrap and the seccomp filter put up, probed from inside.

A hostile program asks the kernel for what would let it out (``ptrace``,
``unshare``, ``mount``, namespaces by ``clone``, ``personality``, BPF, ...)
and reads what it must not see (``/proc/1/environ``, the worker's
environment, SQLite databases outside the data folder). Every call must be
refused. The same probe runs twice: through the real checkpoint sandbox (the
mode this host picks), and in bubblewrap's user-namespace mode with the
system's Python (the mode of a Docker deploy without ``CAP_SYS_ADMIN``).
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.challenges.schemas import CheckpointSpec
from server.checkpoints.runner import SANDBOX_PACKAGES, WORKLOAD, hidden_folders, sandbox_limits
from server.config import get_settings
from server.sandbox import bwrap, seccomp
from server.sandbox.launcher import Sandbox, SandboxError, startup_report
from tests.checkpoints.helpers import ROWS, Exported, hostile_program, require_root

SECRET = "s3cret-confinement-" + "y" * 30
SYSTEM_PYTHON = "/usr/bin/python3"

# x86-64 numbers, called raw so that no libc wrapper decides for the kernel.
CALLS = {
    "ptrace_traceme": (101, (0, 0, 0, 0)),
    "ptrace_attach_1": (101, (16, 1, 0, 0)),
    "unshare_user": (272, (0x10000000,)),
    "unshare_mount": (272, (0x00020000,)),
    "setns": (308, (0, 0)),
    "clone_newnet": (56, (0x40000000 | 17, 0, 0, 0, 0)),
    "clone_newuser": (56, (0x10000000 | 17, 0, 0, 0, 0)),
    "personality": (135, (0x0040000,)),
    "bpf": (321, (0, 0, 0)),
    "perf_event_open": (298, (0, 0, -1, -1, 0)),
    "keyctl": (250, (0, 0, 0, 0, 0)),
    "add_key": (248, (0, 0, 0, 0, 0)),
    "userfaultfd": (323, (0,)),
    "pivot_root": (155, (0, 0)),
    "kexec_load": (246, (0, 0, 0, 0)),
    "umount2": (166, (0, 0)),
}


def probe_code(reads: list[str]) -> str:
    """Python (standard library only) that tries every way out and prints a JSON report.

    Wrapped in ``exec(..., {})``: run by an unpickler, its names must be globals.
    """
    body = f"""
import ctypes, errno, json, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
report = {{"uid": os.getuid(), "calls": {{}}, "reads": {{}}}}
for name, (number, args) in {CALLS!r}.items():
    result = libc.syscall(ctypes.c_long(number), *[ctypes.c_long(a) for a in args])
    if result == 0 and name.startswith("clone"):
        os._exit(0)  # a child: the call was allowed, the parent reports it
    code = ctypes.get_errno()
    report["calls"][name] = "allowed" if result >= 0 else errno.errorcode.get(code, str(code))
os.makedirs("target", exist_ok=True)
result = libc.mount(b"none", b"target", b"tmpfs", ctypes.c_ulong(0), None)
report["calls"]["mount"] = "allowed" if result == 0 else errno.errorcode[ctypes.get_errno()]
for path in {reads!r}:
    try:
        with open(path, "rb") as handle:
            report["reads"][path] = handle.read(4096).decode("latin-1")
    except OSError as error:
        report["reads"][path] = errno.errorcode[error.errno]
with open("owner-check", "w") as handle:
    handle.write("x")
print(json.dumps(report))
with open("probe.json", "w") as handle:
    json.dump(report, handle)
"""
    return f"exec({body!r}, {{}})\n"


@pytest.fixture
def databases(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """World-readable SQLite databases outside the data folder, one beside our packages."""
    require_root()
    if platform.machine() != "x86_64":
        pytest.skip("the probe calls system calls by their x86-64 numbers")
    monkeypatch.setenv("PODIUM_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    project = Path(__file__).resolve().parents[2]
    paths = [project / f"podium-probe-{os.getpid()}.db", data_dir.parent / "elsewhere.db"]
    for path in paths:
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE secrets (value TEXT)")
            connection.execute("INSERT INTO secrets VALUES (?)", (SECRET,))
        connection.close()
        os.chmod(path, 0o644)
    yield paths
    for path in paths:
        path.unlink(missing_ok=True)


def _reads(databases: list[Path]) -> list[str]:
    return ["/proc/1/environ", f"/proc/{os.getpid()}/environ", *map(str, databases)]


def _assert_walls(report: dict[str, object], databases: list[Path]) -> None:
    calls = report["calls"]
    assert isinstance(calls, dict)
    refused = {name: result for name, result in calls.items() if result != "EPERM"}
    assert not refused, refused
    reads = report["reads"]
    assert isinstance(reads, dict)
    assert reads["/proc/1/environ"] in ("EACCES", "ENOENT"), reads["/proc/1/environ"]
    assert reads[f"/proc/{os.getpid()}/environ"] in ("EACCES", "ENOENT")
    for path in databases:
        assert reads[str(path)] in ("ENOENT", "EACCES"), (path, reads[str(path)][:40])
    assert SECRET not in json.dumps(report)


def test_a_program_meets_seccomp_and_sees_no_database(
    databases: list[Path], exported: Exported, inputs_file: Path, tmp_path: Path
) -> None:
    """Through the checkpoint sandbox, as a crafted .pt2 that runs code when loaded."""
    program = hostile_program(exported, tmp_path, probe_code(_reads(databases)), "probe.pt2")
    with Sandbox(
        require_isolation=True, hide=hidden_folders(get_settings()), packages=SANDBOX_PACKAGES
    ) as box:
        box.add_file(program, "model.pt2")
        box.add_file(inputs_file, "inputs.npy")
        args = {"format": "export", "threads": 1, "batch_size": 128, "memory_mb": 512}
        run = box.run(WORKLOAD, args, sandbox_limits(CheckpointSpec(), ROWS, 1))
        raw = box.open_output("probe.json", 1 << 20)
        result = box.open_output("result.json", 1 << 20)
        uid = box.uid
    assert raw is not None, (run.exit_code, result, run.log_tail)
    report = json.loads(raw)
    assert report["uid"] == uid
    assert all(run.isolation.values()), run.isolation
    _assert_walls(report, databases)


def test_the_user_namespace_mode_confines_as_well(databases: list[Path]) -> None:
    """bubblewrap as the job's uid, in a user namespace of its own (no CAP_SYS_ADMIN)."""
    if "userns" not in bwrap.support().modes:
        pytest.skip(f"user namespaces are refused here: {bwrap.support().reason}")
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip(f"{SYSTEM_PYTHON} is missing")
    code = probe_code(_reads(databases))
    with Sandbox(require_isolation=True) as box:
        assert box.uid is not None
        assert bwrap.support().choose([str(box.work_dir)]) == "userns"
        process, monitor = bwrap.spawn(
            "userns",
            box.uid,
            [SYSTEM_PYTHON, "-I", "-c", code],
            work_dir=str(box.work_dir),
            expose=[],
            hide=[],
            pass_fds=(),
            timeout=60,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin", "SECRET": "not-inherited-by-the-probe"},
        )
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
        report = json.loads(out)
        # Outside the sandbox its files (and processes) belong to the job's own uid.
        assert (box.work_dir / "owner-check").stat().st_uid == box.uid
    assert monitor is not None
    assert report["uid"] == box.uid
    _assert_walls(report, databases)


def test_the_filter_refuses_what_the_issue_lists() -> None:
    """The compiled filter names every system call the sandbox refuses."""
    try:
        rules = seccomp.build()
    except OSError as error:  # libseccomp missing
        pytest.skip(f"libseccomp: {error}")
    listed = set(seccomp.REFUSED)
    issue = "ptrace mount umount2 pivot_root kexec_load bpf perf_event_open keyctl add_key"
    for name in [*issue.split(), "userfaultfd", "unshare", "setns", "personality"]:
        assert name in listed
    with tempfile.TemporaryFile("w+") as handle:
        rules.export_pfc(handle)
        handle.seek(0)
        text = handle.read()
    for name in ("ptrace", "mount", "unshare", "setns", "clone", "clone3", "personality"):
        assert f'filter for syscall "{name}"' in text, name


@pytest.mark.parametrize(
    ("code", "expected"), [(0, 0), (1, 1), (128 + 9, -9), (128 + 25, -25), (255, 255)]
)
def test_bubblewraps_status_is_read_back_as_the_signal(code: int, expected: int) -> None:
    assert bwrap.returncode(code) == expected


@pytest.fixture
def fresh_support() -> Iterator[None]:
    """bubblewrap's mode is probed once per process: probe again, and forget it after."""
    bwrap.support.cache_clear()
    yield
    bwrap.support.cache_clear()


def test_without_bubblewrap_programs_are_refused_with_the_reason(
    fresh_support: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_root()
    monkeypatch.setattr(bwrap, "executable", lambda: None)
    bwrap.support.cache_clear()
    assert bwrap.support().modes == ()
    with (
        pytest.raises(SandboxError, match=r"cannot isolate programs: bubblewrap \(bwrap\) is not"),
        Sandbox(require_isolation=True),
    ):
        pass
    assert "NOT isolated (bubblewrap (bwrap) is not installed)" in startup_report()


def test_hidden_folders_inside_a_bound_one_are_covered_again(tmp_path: Path) -> None:
    if bwrap.executable() is None:
        pytest.skip("bubblewrap (bwrap) is not installed")
    project = tmp_path / "project"
    (project / "podium-data").mkdir(parents=True)
    (project / "podium.db").write_text("")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    hide = [str(project / "podium-data"), str(project / "podium.db"), str(elsewhere)]
    args = bwrap.command("userns", 61000, ["true"], expose={str(project): 9}, hide=hide)
    text = " ".join(args)
    assert f"--ro-bind-fd 9 {project}" in text
    assert f"--tmpfs {project / 'podium-data'} --remount-ro {project / 'podium-data'}" in text
    assert f"--ro-bind /dev/null {project / 'podium.db'}" in text
    assert str(elsewhere) not in text  # never bound: nothing to cover


def test_a_folder_exposed_under_tmp_is_seen_over_the_fresh_tmp(tmp_path: Path) -> None:
    # A checkout, a virtualenv or a data directory may live under /tmp: what is
    # bound there must land on top of the sandbox's fresh /tmp, not under it.
    if bwrap.executable() is None:
        pytest.skip("bubblewrap (bwrap) is not installed")
    assert str(tmp_path).startswith("/tmp/"), tmp_path
    project = tmp_path / "project"
    project.mkdir()
    (project / "marker.txt").write_text("seen")
    (tmp_path / "beside.txt").write_text("not exposed")
    handle = os.open(project, os.O_PATH)
    try:
        args = bwrap.command(
            "root",
            0,
            ["/bin/sh", "-c", f"cat {project}/marker.txt; echo; ls {tmp_path}"],
            expose={str(project): handle},
        )
        done = subprocess.run(
            args, pass_fds=[handle], capture_output=True, text=True, timeout=60, check=False
        )
    finally:
        os.close(handle)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["seen", "project"]  # beside.txt stays hidden
