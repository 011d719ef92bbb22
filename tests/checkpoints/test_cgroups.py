"""Memory and process limits: a cgroup v2 where one is writable, else resource limits.

The cgroup v2 path writes files; it is checked here against a fake cgroup
tree (plain folders and files), which tests the decisions and what is
written, not the kernel's enforcement. The fallback is checked for real on
this host: whatever it offers, the decision and the start-up line agree.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from server.sandbox import cgroups, launcher
from server.sandbox.cgroups import MB, JobCgroup, detect
from server.workers import runner as worker_agent

V2_MOUNTINFO = "30 23 0:26 / {mount} rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
V1_MOUNTINFO = (
    "31 23 0:27 / /sys/fs/cgroup/memory rw shared:5 - cgroup cgroup rw,memory\n"
    "32 23 0:28 / /sys/fs/cgroup/pids rw shared:6 - cgroup cgroup rw,pids\n"
)


def _tree(tmp_path: Path, mountinfo: str, own: str, files: dict[str, str]) -> tuple[Path, Path]:
    """A fake /proc/self/mountinfo, /proc/self/cgroup and cgroup tree under ``tmp_path``."""
    mount = tmp_path / "cgroup"
    for name, text in files.items():
        path = mount / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "mountinfo").write_text(mountinfo.format(mount=mount))
    (tmp_path / "cgroup-self").write_text(f"0::{own}\n")
    return tmp_path / "mountinfo", tmp_path / "cgroup-self"


def test_a_delegated_cgroup_v2_takes_job_cgroups(tmp_path: Path) -> None:
    mountinfo, own = _tree(
        tmp_path,
        V2_MOUNTINFO,
        "/podium.service",
        {
            "podium.service/cgroup.controllers": "cpu io memory pids\n",
            "podium.service/cgroup.subtree_control": "",
            "podium.service/cgroup.procs": "4242\n",
        },
    )
    support = detect(mountinfo, own)
    base = tmp_path / "cgroup" / "podium.service"
    assert support.parent == base, support.reason
    assert support.reason == f"cgroup v2 at {base}"
    # "No internal processes": the worker moved to a leaf, then the controllers were enabled.
    assert (base / cgroups.WORKER_LEAF / "cgroup.procs").read_text() == "4242"
    assert (base / "cgroup.subtree_control").read_text() == "+memory +pids"


def test_a_job_cgroup_gets_its_limits_and_is_removed(tmp_path: Path) -> None:
    parent = tmp_path / "podium.service"
    parent.mkdir()
    job = JobCgroup(parent, "job-abc", processes=96)
    assert (job.path / "pids.max").read_text() == "96"
    job.add([101, 102])
    assert (job.path / "cgroup.procs").read_text() == "102"  # one pid per write
    (job.path / "memory.current").write_text("300000000\n")
    assert job.limit_memory(256) == 300_000_000 + 256 * MB
    assert (job.path / "memory.max").read_text() == str(300_000_000 + 256 * MB)
    assert not job.oom_killed()
    (job.path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert job.oom_killed()
    (job.path / "cgroup.kill").write_text("")
    (job.path / "cgroup.procs").write_text("")
    job.remove()  # a fake tree is no cgroup file system: it stays, but nothing raises
    assert (job.path / "cgroup.kill").read_text() == "1"


@pytest.mark.parametrize(
    ("mountinfo", "files", "expected"),
    [
        (V1_MOUNTINFO, {}, "no cgroup v2 hierarchy (cgroup v1 only)"),
        (
            V2_MOUNTINFO,
            {"w/cgroup.controllers": "hugetlb\n", "w/cgroup.subtree_control": ""},
            "lacks the memory and pids controller(s)",
        ),
        (
            V2_MOUNTINFO,
            {"w/cgroup.controllers": "memory\n", "w/cgroup.subtree_control": ""},
            "lacks the pids controller(s)",
        ),
        (V2_MOUNTINFO, {"other/cgroup.controllers": "memory pids\n"}, "does not hold this process"),
    ],
)
def test_without_a_usable_cgroup_v2_the_reason_is_given(
    tmp_path: Path, mountinfo: str, files: dict[str, str], expected: str
) -> None:
    support = detect(*_tree(tmp_path, mountinfo, "/w", files))
    assert support.parent is None
    assert expected in support.reason


def test_this_host_decides_and_the_worker_says_which_applies(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The real decision on this machine (cgroup v1 or hybrid here: resource limits)."""
    support = detect()
    report = launcher.startup_report()
    if not launcher.isolation_available():
        assert "NOT isolated" in report
    elif support.parent is None:
        assert f"resource limits (rlimits), since {support.reason}" in report
    else:
        assert f"cgroup v2 at {support.parent}" in report
    with caplog.at_level(logging.INFO, logger=worker_agent.__name__):
        worker_agent._log_sandbox()
    assert report in caplog.text
