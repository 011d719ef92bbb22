"""Webhook URLs: which we agree to post to, and a challenge's configured set.

A leaf (settings only), so that the challenge schemas validate webhook URLs
without importing the notifications (``server.insight.notify``).
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from server.config import Settings, get_settings

TARGETS = ("discord_url", "slack_url")


MAX_URL_LENGTH = 500


LOOPBACK_HOSTS = frozenset({"localhost"})


def check_webhook_url(url: str, settings: Settings | None = None) -> str:
    """A webhook URL we agree to post to, or ValueError saying why not.

    ``https://`` always; ``http://`` only to this machine (``localhost``,
    ``127.0.0.1``, ``::1``) and never when ``PODIUM_ENV=production``: it is
    there for tests and for trying a local receiver.
    """
    settings = settings or get_settings()
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"a webhook URL must be at most {MAX_URL_LENGTH} characters")
    if any(not ch.isprintable() or ch.isspace() for ch in url):
        raise ValueError("a webhook URL must not contain spaces or control characters")
    parts = urlsplit(url)
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise ValueError("a webhook URL needs a host (and no user:password@)")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        if settings.env == "production":
            raise ValueError("http:// webhooks are refused when PODIUM_ENV=production")
        return url
    raise ValueError("a webhook URL must start with https:// (http:// only for localhost)")


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def configured(webhooks: dict[str, Any] | None) -> dict[str, str]:
    """The webhook URLs that are set, by target."""
    return {key: str(url) for key, url in (webhooks or {}).items() if key in TARGETS and url}


def merge_webhooks(current: dict[str, Any] | None, changes: dict[str, Any]) -> dict[str, str]:
    """``current`` with ``changes`` applied (a null removes a URL)."""
    merged = {**configured(current), **changes}
    return {key: str(url) for key, url in merged.items() if key in TARGETS and url}
