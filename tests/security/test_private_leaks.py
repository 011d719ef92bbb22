"""The leak crawl of a private challenge: nothing of it reaches a user who is not invited.

Every GET route of the app (each path parameter filled with the course's resources,
the private challenge's slug among them) and every link of the pages, crawled as an
anonymous visitor, a participant who is not invited, an organizer who does not host
it, and a disabled account that was invited. A URL naming the private challenge must
answer exactly what a slug that was never created answers (404, same body); every
other answer must not contain its slug or title (so the counts on / and in
GET /challenges do not include it either). A positive control: the invited
participant does see it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from server.config import get_settings
from tests.security.class_world import PRIVATE_SLUG, PRIVATE_TITLE, build_class_world
from tests.security.crawl import crawl
from tests.security.world import WORKER_TOKEN, World, headers_for

MISSING = "no-such-challenge"
# Per-request values: CSRF tokens (a fresh nonce per anonymous page) and timestamps.
VOLATILE = re.compile(r'(csrf[-_]token"? (?:content|value)=")[^"]+|\d{4}-\d\d-\d\dT[\d:.+]+Z?')


@pytest.fixture
def app(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv("PODIUM_WORKER_TOKEN", WORKER_TOKEN)
    get_settings.cache_clear()
    from server.app import create_app

    return create_app()


@pytest.fixture
def course(api: TestClient, make_user: Callable[..., str]) -> World:
    world = build_class_world(api, make_user)
    # Everyone who may see it looks first: no cache may hand it on.
    for role in ("host", "admin", "invited"):
        for board in ("public", "private"):
            world.get(
                role, f"/api/v1/challenges/{PRIVATE_SLUG}/leaderboard", params={"board": board}
            )
        world.api.get(
            f"/c/{PRIVATE_SLUG}", headers={"Cookie": f"podium_session={world.tokens[role]}"}
        )
    return world


def _normal(text: str) -> str:
    return VOLATILE.sub(r"\1", text)


def _same_as_missing(world: World, role: str, url: str, response: Any) -> str | None:
    """None when ``response`` is what a never-created slug gets; else what differs."""
    missing_url = url.replace(PRIVATE_SLUG, MISSING)
    headers = headers_for(world, role)
    token = world.tokens.get(role)
    if token:
        headers["Cookie"] = f"podium_session={token}"
    path, _, query = missing_url.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
    missing = world.api.get(path, params=params, headers=headers, follow_redirects=False)
    if response.status_code != missing.status_code:
        return f"status {response.status_code}, a missing slug gets {missing.status_code}"
    ours = _normal(response.text.replace(PRIVATE_SLUG, MISSING))
    if ours != _normal(missing.text):
        return f"body differs: {response.text[:160]!r} vs {missing.text[:160]!r}"
    return None


def hunt(world: World, role: str) -> tuple[list[str], int]:
    findings: list[str] = []
    responses = crawl(world, role)
    for where, response in responses:
        assert response.status_code < 500, (where, response.text[:300])
        url = where.split(" ")[1]
        body = response.content.decode("utf-8", errors="replace")
        if PRIVATE_SLUG in url:
            problem = _same_as_missing(world, role, url.rstrip("?"), response)
            if problem:
                findings.append(f"{where}: {problem}")
            continue
        head = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        for secret in (PRIVATE_SLUG, PRIVATE_TITLE):
            if secret in body or secret in head:
                findings.append(f"{where}: shows {secret!r}")
    return findings, len(responses)


def test_a_private_challenge_never_reaches_the_uninvited(course: World) -> None:
    findings: list[str] = []
    counts = {}
    for role in ("anonymous", "participant", "organizer", "disabled"):
        found, counts[role] = hunt(course, role)
        findings += found
    assert not findings, f"{len(findings)} leaks:\n" + "\n".join(findings[:40])
    print(f"private crawl: {counts} responses, 0 leaks")
    # Positive control: the same checks fire for a user who is invited.
    control, _ = hunt(course, "invited")
    assert any("a missing slug gets 404" in f for f in control), control[:5]
    listed = course.get("invited", "/api/v1/challenges").json()
    assert PRIVATE_SLUG in [c["slug"] for c in listed]
