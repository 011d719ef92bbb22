"""Where the client finds its URL and token, and how the config file is kept."""

from __future__ import annotations

import json
import os
import stat
import warnings
from pathlib import Path

import podium
import pytest
from podium import DEFAULT_URL, InsecureConfigWarning, config_path, resolve_settings, save_config


def write_config(path: Path, data: dict[str, str], mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    os.chmod(path, mode)


def test_defaults_without_env_or_config() -> None:
    settings = resolve_settings()
    assert settings.url == DEFAULT_URL == "http://127.0.0.1:8000"
    assert settings.token is None
    assert settings.url_source == "default"


def test_config_file_is_used_when_nothing_else_is(isolated_config: Path) -> None:
    write_config(isolated_config, {"url": "http://from-config:1", "token": "pod_config"})
    settings = resolve_settings()
    assert (settings.url, settings.token) == ("http://from-config:1", "pod_config")
    assert settings.token_source == str(isolated_config)


def test_env_beats_config(isolated_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(isolated_config, {"url": "http://from-config:1", "token": "pod_config"})
    monkeypatch.setenv("PODIUM_URL", "http://from-env:2/")
    monkeypatch.setenv("PODIUM_TOKEN", "pod_env")
    settings = resolve_settings()
    assert (settings.url, settings.token) == ("http://from-env:2", "pod_env")
    assert (settings.url_source, settings.token_source) == ("PODIUM_URL", "PODIUM_TOKEN")


def test_arguments_beat_env(isolated_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(isolated_config, {"url": "http://from-config:1", "token": "pod_config"})
    monkeypatch.setenv("PODIUM_URL", "http://from-env:2")
    monkeypatch.setenv("PODIUM_TOKEN", "pod_env")
    settings = resolve_settings("http://from-arg:3", "pod_arg")
    assert (settings.url, settings.token) == ("http://from-arg:3", "pod_arg")


def test_each_value_resolves_separately(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(isolated_config, {"url": "http://from-config:1", "token": "pod_config"})
    monkeypatch.setenv("PODIUM_TOKEN", "pod_env")
    settings = resolve_settings()
    assert (settings.url, settings.token) == ("http://from-config:1", "pod_env")


def test_client_uses_resolved_settings(isolated_config: Path) -> None:
    write_config(isolated_config, {"url": "http://from-config:1/api/v1/", "token": "pod_config"})
    with podium.Client() as client:
        assert client.url == "http://from-config:1"
        assert client.token == "pod_config"
        assert "pod_config" not in repr(client)


def test_xdg_config_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PODIUM_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_path() == tmp_path / "xdg" / "podium" / "config.json"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert config_path() == Path.home() / ".config" / "podium" / "config.json"


def test_podium_config_overrides_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("PODIUM_CONFIG", str(tmp_path / "elsewhere.json"))
    assert config_path() == tmp_path / "elsewhere.json"


def test_save_writes_mode_600_and_dir_700(isolated_config: Path) -> None:
    path = save_config(url="http://x:1", token="pod_secret")
    assert path == isolated_config
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {"url": "http://x:1", "token": "pod_secret"}
    assert not list(path.parent.glob(".config-*"))  # no temporary file left


def test_save_merges_and_tightens_an_open_file(isolated_config: Path) -> None:
    write_config(
        isolated_config, {"url": "http://old:1", "token": "pod_old", "extra": "kept"}, 0o644
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # saving must not warn about the file it fixes
        save_config(token="pod_new")
    assert json.loads(isolated_config.read_text()) == {
        "url": "http://old:1",
        "token": "pod_new",
        "extra": "kept",
    }
    assert stat.S_IMODE(isolated_config.stat().st_mode) == 0o600


def test_warns_when_config_is_readable_by_others(isolated_config: Path) -> None:
    write_config(isolated_config, {"token": "pod_config"}, 0o644)
    with pytest.warns(InsecureConfigWarning, match="chmod 600"):
        settings = resolve_settings()
    assert settings.token == "pod_config"  # still used


def test_no_warning_for_mode_600(isolated_config: Path) -> None:
    write_config(isolated_config, {"token": "pod_config"}, 0o600)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resolve_settings()


def test_config_not_read_when_env_resolves_everything(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(isolated_config, {"token": "pod_config"}, 0o644)
    monkeypatch.setenv("PODIUM_URL", "http://env:1")
    monkeypatch.setenv("PODIUM_TOKEN", "pod_env")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_settings().token == "pod_env"


def test_unreadable_config_is_ignored_with_a_warning(isolated_config: Path) -> None:
    isolated_config.parent.mkdir(parents=True)
    isolated_config.write_text("{not json")
    os.chmod(isolated_config, 0o600)
    with pytest.warns(UserWarning, match="ignoring unreadable config"):
        assert resolve_settings().token is None
