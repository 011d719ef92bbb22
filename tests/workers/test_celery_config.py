"""Celery settings (docs/deploy.md), the ``worker`` command's checks, and the sweeper's pace."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from server.cli import app as cli_app
from server.config import Settings, get_settings
from server.queue.celery_app import make_celery, queue_for, time_limits, worker_app
from server.queue.lease import heartbeat_interval
from server.queue.sweeper import sweep_interval

BROKER = "redis://127.0.0.1:6379/5"


def test_celery_is_configured_for_at_least_once_delivery() -> None:
    settings = Settings(broker_url=BROKER, job_time_limit_seconds=100)
    conf = make_celery(settings).conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_soft_time_limit == 100
    assert conf.task_time_limit > conf.task_soft_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert time_limits(settings) == (
        conf.task_soft_time_limit,
        conf.task_time_limit,
        conf.broker_transport_options["visibility_timeout"],
    )
    assert conf.worker_max_tasks_per_child is None
    assert conf.task_ignore_result is True
    assert conf.accept_content == ["json"]  # ids only, never pickles
    assert (queue_for("csv"), queue_for("checkpoint")) == ("cpu", "gpu")


def test_a_gpu_worker_runs_one_task_per_pool_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PODIUM_BROKER_URL", BROKER)
    get_settings.cache_clear()
    try:
        assert worker_app(["gpu"]).conf.worker_max_tasks_per_child == 1
        assert worker_app(["cpu", "gpu"]).conf.worker_max_tasks_per_child == 1
        assert worker_app(["cpu"]).conf.worker_max_tasks_per_child is None
    finally:
        get_settings.cache_clear()


def test_heartbeats_and_sweeps_fit_in_a_lease() -> None:
    for lease in (5, 120, 3600):
        assert heartbeat_interval(lease) * 3 <= lease
        assert sweep_interval(Settings(job_lease_seconds=lease)) < lease


def test_the_worker_parent_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import server.cli, server.queue.celery_app, server.workers.runner\n"
        "import server.checkpoints.runner\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"PODIUM_BROKER_URL": BROKER}, ["--queues", "tpu"], "unknown queue"),
        ({}, ["--queues", "cpu"], "PODIUM_BROKER_URL"),
        (
            {"PODIUM_BROKER_URL": BROKER, "PODIUM_ENV": "development"},
            ["--queues", "gpu"],
            "PODIUM_WORKER_TOKEN",
        ),
    ],
)
def test_the_worker_command_refuses_a_bad_configuration(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], args: list[str], message: str
) -> None:
    for name in ("PODIUM_BROKER_URL", "PODIUM_WORKER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PODIUM_ENV", "test")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["worker", *args])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert message in result.output
