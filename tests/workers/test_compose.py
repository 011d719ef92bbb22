"""The deploy files, checked without a Docker engine: docker-compose.yml, .env.example,
Dockerfile. Every command they run and every PODIUM_ variable they name must exist.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from pydantic import ValidationError

from server.cli import app as cli_app
from server.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
PODIUM_VARIABLE = re.compile(r"\bPODIUM_[A-Z0-9_]+\b")
SETTINGS_VARIABLES = {f"PODIUM_{name.upper()}" for name in Settings.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return dict(compose["services"])


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def _argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def _podium_invocations(argv: list[str]) -> list[list[str]]:
    """Each ``podium-server ...`` call in a command, including inside ``sh -c '...'``."""
    if argv[:2] == ["sh", "-c"]:
        calls = []
        for part in re.split(r"&&|;|\|\|", argv[2]):
            calls += _podium_invocations(shlex.split(part.strip()))
        return calls
    if argv and argv[0] == "exec":
        argv = argv[1:]
    return [argv[1:]] if argv and argv[0] == "podium-server" else []


def _cli_commands() -> dict[str, Any]:
    group: Any = typer.main.get_command(cli_app)
    return dict(group.commands)


def test_the_stack_has_every_service(services: dict[str, Any]) -> None:
    assert {"postgres", "redis", "server", "cpu-worker", "gpu-worker"} <= set(services)


def test_every_podium_server_command_and_option_exists(services: dict[str, Any]) -> None:
    commands = _cli_commands()
    seen = set()
    for name, service in services.items():
        if "command" not in service:
            continue
        for call in _podium_invocations(_argv(service["command"])):
            assert call and call[0] in commands, f"{name}: unknown command {call}"
            options = {opt for p in commands[call[0]].params for opt in p.opts}
            for word in call[1:]:
                if word.startswith("--"):
                    assert word.split("=")[0] in options, f"{name}: {call[0]} has no {word}"
            seen.add(call[0])
    assert {"migrate", "serve", "worker"} <= seen
    server = _podium_invocations(_argv(services["server"]["command"]))
    assert [call[0] for call in server] == ["migrate", "serve"]  # migrates, then serves


def test_every_podium_variable_is_a_setting() -> None:
    named = set(PODIUM_VARIABLE.findall(COMPOSE.read_text()))
    named |= set(PODIUM_VARIABLE.findall(ENV_EXAMPLE.read_text()))
    named |= set(PODIUM_VARIABLE.findall(DOCKERFILE.read_text()))
    assert named, "the deploy files name no settings"
    assert named <= SETTINGS_VARIABLES, f"not settings: {sorted(named - SETTINGS_VARIABLES)}"
    # The ones a deployment cannot do without are in the example.
    needed = {
        "PODIUM_DATABASE_URL",
        "PODIUM_BROKER_URL",
        "PODIUM_SECRET_KEY",
        "PODIUM_WORKER_TOKEN",
        "PODIUM_SERVER_URL",
        "PODIUM_ENV",
    }
    assert needed <= set(_env_example())


def test_the_example_holds_no_usable_secrets() -> None:
    env = _env_example()
    for name, value in env.items():
        if any(word in name for word in ("PASSWORD", "SECRET", "TOKEN")):
            assert value.startswith("change-me"), f"{name} looks like a real secret"
    settings = {
        k.removeprefix("PODIUM_").lower(): v for k, v in env.items() if k in SETTINGS_VARIABLES
    }
    assert settings["env"] == "production"
    with pytest.raises(ValidationError, match="PODIUM_SECRET_KEY.*PODIUM_WORKER_TOKEN"):
        Settings(**settings)  # production refuses the placeholders


def test_services_wait_for_healthy_dependencies(services: dict[str, Any]) -> None:
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for target, rule in depends.items():
            assert rule == {"condition": "service_healthy"}, f"{name} -> {target}"
            assert "healthcheck" in services[target], f"{target} has no healthcheck"
    assert set(services["server"]["depends_on"]) == {"postgres", "redis"}
    for worker in ("cpu-worker", "gpu-worker"):
        assert {"redis", "server"} <= set(services[worker]["depends_on"])


def test_workers_take_their_queues_and_the_gpu_worker_gets_a_gpu(
    services: dict[str, Any],
) -> None:
    def queues(service: str) -> str:
        argv = _argv(services[service]["command"])
        return argv[argv.index("--queues") + 1]

    assert queues("cpu-worker") == "cpu"
    assert queues("gpu-worker") == "gpu"
    devices = services["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)
    assert "deploy" not in services["cpu-worker"]


def test_volumes_are_named_and_declared(compose: dict[str, Any], services: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            assert not source.startswith((".", "/")), f"{name}: bind mount {source}"
            used.add(source)
    assert used and used <= declared
    assert {"postgres-data", "podium-data"} <= used


def test_the_dockerfile_installs_existing_extras_and_serves() -> None:
    import tomllib

    text = DOCKERFILE.read_text()
    extras = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    )
    default = re.search(r"ARG EXTRAS=(\S+)", text)
    assert default and set(default[1].split(",")) <= extras
    cmd = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)
    assert cmd and yaml.safe_load(cmd[1])[:2] == ["podium-server", "serve"]
    for path in re.findall(r"^COPY (\S+)", text, re.MULTILINE):
        if not path.startswith("--"):
            assert (ROOT / path).exists(), f"COPY {path}: no such file"


def test_the_gpu_worker_keeps_only_what_bubblewrap_needs(services: dict[str, Any]) -> None:
    """No CAP_SYS_ADMIN, no privileged mode; each kept privilege says why (docs/security.md)."""
    gpu = services["gpu-worker"]
    assert not gpu.get("privileged")
    assert gpu["cap_drop"] == ["ALL"]
    assert set(gpu["cap_add"]) == {"CHOWN", "DAC_OVERRIDE", "SETUID", "SETGID", "KILL"}
    assert set(gpu["security_opt"]) == {
        "seccomp=unconfined",
        "apparmor=unconfined",
        "systempaths=unconfined",
    }
    lines = COMPOSE.read_text().splitlines()
    for kept in [*gpu["cap_add"], *gpu["security_opt"]]:
        at = next(
            i
            for i, line in enumerate(lines)
            if line.strip() == f"- {kept}"
            or (line.strip().startswith(f"- {kept} ") and "#" in line)
        )
        assert "#" in lines[at] or lines[at - 1].strip().startswith("#"), kept
    for name, service in services.items():
        assert "SYS_ADMIN" not in str(service.get("cap_add", [])), name
    assert "bubblewrap" in DOCKERFILE.read_text()
