"""End to end, as a student would: the demo challenge on a live server, a baseline
trained with ``python -m baselines`` and submitted through the ``podium`` client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from server.demo import DEMO_SLUG, PARTICIPANT, setup_demo

STARTUP_SECONDS = 30


@pytest.fixture
def demo_url(data_dir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    from server.app import create_app

    tokens, _ = setup_demo()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", tokens
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_SECONDS)
        sock.close()


def _train_and_submit(url: str, token: str, workdir: Path, *extra: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env |= {"PODIUM_URL": url, "PODIUM_TOKEN": token}
    result = subprocess.run(
        [sys.executable, "-m", "baselines", "train", "--model", "neuron", "--epochs", "1",
         "--device", "cpu", "--submit", DEMO_SLUG, "--out", str(workdir / "run"), *extra],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_baseline_submits_to_the_demo_and_gets_a_score(
    demo_url: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, tokens = demo_url
    output = _train_and_submit(url, tokens["participant"], tmp_path)
    assert "public score" in output
    assert (tmp_path / "data" / DEMO_SLUG / "t10k-images-idx3-ubyte.gz").is_file()
    board = httpx.get(f"{url}/api/v1/challenges/{DEMO_SLUG}/leaderboard").json()
    entries = {entry["team"]: entry for entry in board["entries"]}
    assert entries[PARTICIPANT]["score"] > 0.8  # one sigmoid neuron, one epoch, real MNIST

    # The same model as a weights-only checkpoint, evaluated on the hidden inputs.
    output = _train_and_submit(url, tokens["participant"], tmp_path, "--as", "checkpoint")
    assert "public score" in output
    mine = httpx.get(
        f"{url}/api/v1/challenges/{DEMO_SLUG}/submissions",
        headers={"Authorization": f"Bearer {tokens['participant']}"},
    ).json()
    checkpoint = next(s for s in mine if s["kind"] == "checkpoint")
    assert checkpoint["status"] == "scored", checkpoint
    assert checkpoint["parameter_count"] == 784 * 10 + 10
    assert checkpoint["private_score"] is None


def test_demo_health_answers(demo_url: tuple[str, dict[str, str]]) -> None:
    url, _ = demo_url
    assert httpx.get(f"{url}/api/v1/health").json()["database"] == "ok"
    page = httpx.get(f"{url}/c/{DEMO_SLUG}")
    assert page.status_code == 200 and "MNIST" in page.text
