"""Helpers for the page tests: sign in through the real /login form."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_in(html: str) -> str:
    """The CSRF token a page carries (its meta tag)."""
    match = CSRF_META.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in with the form, as a browser does; returns the session's CSRF token."""
    form = client.get("/login")
    assert form.status_code == 200
    field = CSRF_FIELD.search(form.text)
    assert field
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": field.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_in(client.get("/").text)


@pytest.fixture
def browser_client(app, api) -> Iterator[Callable[[], TestClient]]:  # type: ignore[no-untyped-def]
    """Extra clients with their own cookie jars (several people at once)."""
    clients: list[TestClient] = []

    def _make() -> TestClient:
        # Not entered: the `api` fixture already ran the app's lifespan.
        client = TestClient(app)
        clients.append(client)
        return client

    yield _make
    for client in clients:
        client.close()
