"""Fixtures of the security suite: the populated world, and live servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from server.config import get_settings
from tests.security.live import LiveServer
from tests.security.world import WORKER_TOKEN, World, build_world


@pytest.fixture
def app(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """The app, with a known worker token (the matrix's fifth role)."""
    monkeypatch.setenv("PODIUM_WORKER_TOKEN", WORKER_TOKEN)
    get_settings.cache_clear()
    from server.app import create_app

    return create_app()


@pytest.fixture
def world(api: TestClient, make_user: Callable[..., str]) -> World:
    """Every challenge of the world (see tests/security/world.py)."""
    return build_world(api, make_user)


@pytest.fixture
def small_world(api: TestClient, make_user: Callable[..., str]) -> World:
    """The users and the main challenge only."""
    return build_world(api, make_user, full=False)


@pytest.fixture
def live_server_factory(
    tmp_path_factory: pytest.TempPathFactory, migrated_template: str
) -> Iterator[Callable[..., LiveServer]]:
    """Start live servers; every one still running is stopped at the end."""
    servers: list[LiveServer] = []

    def start(workers: int = 1, env: dict[str, str] | None = None) -> LiveServer:
        server = LiveServer(tmp_path_factory.mktemp("live"), migrated_template, workers, env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
