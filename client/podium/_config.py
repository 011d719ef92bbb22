"""Where the client finds its server URL and token.

Resolution order, for the URL and the token separately: the explicit
argument, then the environment (``PODIUM_URL``, ``PODIUM_TOKEN``), then the
config file, then (URL only) the default ``http://127.0.0.1:8000``.

The config file is ``$PODIUM_CONFIG`` when set, else
``$XDG_CONFIG_HOME/podium/config.json``, else ``~/.config/podium/config.json``.
It holds a secret, so it is written with mode 600 and a warning is issued
when it is found readable by group or others.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_URL",
    "InsecureConfigWarning",
    "Settings",
    "config_path",
    "load_config",
    "resolve_settings",
    "save_config",
]

DEFAULT_URL = "http://127.0.0.1:8000"
ENV_URL = "PODIUM_URL"
ENV_TOKEN = "PODIUM_TOKEN"
ENV_CONFIG = "PODIUM_CONFIG"


class InsecureConfigWarning(UserWarning):
    """The config file holding the token can be read by other users."""


@dataclass(frozen=True)
class Settings:
    """The resolved connection settings, and where each came from."""

    url: str
    token: str | None
    url_source: str
    token_source: str | None


def config_path() -> Path:
    """Return the path of the config file (it may not exist)."""
    override = os.environ.get(ENV_CONFIG)
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return base / "podium" / "config.json"


def load_config(path: Path | None = None) -> dict[str, Any]:
    """Read the config file; an absent file is an empty config.

    Warns with `InsecureConfigWarning` when the file is readable or writable
    by group or others (it holds an API token).
    """
    path = path or config_path()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.warn(
            f"{path} is accessible by other users (mode {stat.S_IMODE(mode):o}); "
            f"it holds your API token, run: chmod 600 {path}",
            InsecureConfigWarning,
            stacklevel=2,
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        warnings.warn(f"ignoring unreadable config {path}: {exc}", stacklevel=2)
        return {}
    return data if isinstance(data, dict) else {}


def save_config(
    *, url: str | None = None, token: str | None = None, path: Path | None = None
) -> Path:
    """Merge `url` and `token` into the config file, written with mode 600.

    The file is replaced atomically, so a crash never leaves a half-written
    token behind; the directory is created with mode 700.
    """
    path = path or config_path()
    data: dict[str, Any] = {}
    if path.exists():
        with warnings.catch_warnings():
            # We are about to rewrite it with mode 600; no need to warn.
            warnings.simplefilter("ignore", InsecureConfigWarning)
            data = load_config(path)
    if url is not None:
        data["url"] = url
    if token is not None:
        data["token"] = token
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_private(path, data)
    return path


def resolve_settings(url: str | None = None, token: str | None = None) -> Settings:
    """Resolve the server URL and token: argument, environment, config, default.

    The config file is only read when an argument and the environment leave
    something unresolved.
    """
    url_source = "argument"
    token_source: str | None = "argument"
    if not url and os.environ.get(ENV_URL):
        url, url_source = os.environ[ENV_URL], ENV_URL
    if not token and os.environ.get(ENV_TOKEN):
        token, token_source = os.environ[ENV_TOKEN], ENV_TOKEN
    if not url or not token:
        path = config_path()
        config = load_config(path)
        if not url and isinstance(config.get("url"), str) and config["url"]:
            url, url_source = config["url"], str(path)
        if not token and isinstance(config.get("token"), str) and config["token"]:
            token, token_source = config["token"], str(path)
    if not url:
        url, url_source = DEFAULT_URL, "default"
    if not token:
        token, token_source = None, None
    return Settings(
        url=url.rstrip("/"), token=token, url_source=url_source, token_source=token_source
    )


def forget_token(path: Path | None = None) -> Path | None:
    """Remove the token from the config file (the URL stays); the path, or None if none."""
    path = path or config_path()
    if not path.exists():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureConfigWarning)
        data = load_config(path)
    if "token" not in data:
        return path
    data.pop("token")
    _write_private(path, data)
    return path


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` atomically with ``data`` as JSON, readable by its owner only."""
    # mkstemp creates the file with mode 600 before anything is written to it.
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
