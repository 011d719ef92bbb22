"""Fixtures of the page tests, reused here."""

from tests.web.conftest import browser_client  # noqa: F401
