"""``podium-server``: serve, demo, migrate, create-organizer, create-user, worker, bundle-schema."""

from __future__ import annotations

import logging
import secrets
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    help="Podium server: a self-hosted, Kaggle-style competition platform.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True)

HostOption = Annotated[str, typer.Option(help="Interface to listen on")]
PortOption = Annotated[int, typer.Option(help="Port to listen on")]


def _settings_or_exit() -> object:
    from pydantic import ValidationError

    from server.config import get_settings

    try:
        return get_settings()
    except ValidationError as error:
        for problem in error.errors():
            err.print(f"[red]configuration error:[/red] {problem['msg']}")
        raise typer.Exit(2) from None


@app.command()
def migrate() -> None:
    """Apply database migrations (Alembic) up to the latest."""
    _settings_or_exit()
    from server.migrations import upgrade

    upgrade()
    err.print("database is up to date")


@app.command()
def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    workers: Annotated[int, typer.Option(help="Server processes")] = 1,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (costs ~40% of peak requests/s)")
    ] = True,
) -> None:
    """Migrate the database, then serve the API and pages."""
    import uvicorn

    _settings_or_exit()
    from server.migrations import upgrade

    upgrade()
    logging.basicConfig(level=logging.INFO)
    # h11 rather than httptools: it bounds a request head to 64 KiB (httptools takes
    # heads of any size), and our subclass drops heads that take too long to arrive.
    # Bodies: size cap and idle timeout in server.middleware. See docs/security.md.
    uvicorn.run(
        "server.asgi:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        http="server.http:HeadDeadlineH11Protocol",
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=64 * 1024,
        access_log=access_log,
    )


@app.command("create-organizer")
def create_organizer(
    username: str,
    password: Annotated[
        str | None, typer.Option(help="Password (default: a random one, printed)")
    ] = None,
) -> None:
    """Create an admin account (manages everything) and print an API token on the last line."""
    _create(username, "admin", password or secrets.token_urlsafe(16), link=False)


@app.command("create-user")
def create_user(
    username: str,
    role: Annotated[
        str, typer.Option(help="participant, organizer (creates challenges) or admin")
    ] = "participant",
    password: Annotated[
        str | None,
        typer.Option(help="Set a password and print an API token (default: a sign-in link)"),
    ] = None,
    email: Annotated[str | None, typer.Option(help="Email (grants allowed_email_domains)")] = None,
    student_id: Annotated[str | None, typer.Option(help="Student id, for exports")] = None,
    display_name: Annotated[str, typer.Option(help="Full name shown to hosts")] = "",
) -> None:
    """Create an account; the last line is a one-time sign-in link (7 days), or an API
    token when --password is given."""
    _create(
        username,
        role,
        password,
        link=password is None,
        email=email,
        student_id=student_id,
        display_name=display_name,
    )


def _create(
    username: str,
    role: str,
    password: str | None,
    *,
    link: bool,
    email: str | None = None,
    student_id: str | None = None,
    display_name: str = "",
) -> None:
    settings = _settings_or_exit()
    from server.accounts import links, service
    from server.accounts.users import check_email
    from server.config import Settings
    from server.db import session_scope
    from server.exceptions import PodiumError
    from server.migrations import upgrade
    from server.models import Role

    assert isinstance(settings, Settings)
    if role not in {r.value for r in Role}:
        err.print(f"[red]error:[/red] unknown role {role!r}; use participant, organizer or admin")
        raise typer.Exit(2)
    upgrade()
    try:
        with session_scope() as session:
            user = service.create_user(
                session,
                username,
                password,
                Role(role),
                display_name=display_name,
                email=check_email(email),
                student_id=student_id,
            )
            if link:
                secret, expires = links.issue_link(session, user, fresh=True)
                base = (settings.public_url or "").rstrip("/")
                last = f"{base}{links.link_path(secret)}"
            else:
                _, last = service.issue_token(session, user, name=f"create-{role}")
    except PodiumError as error:
        err.print(f"[red]error:[/red] {error.detail}")
        raise typer.Exit(1) from None
    if link:
        err.print(
            f"{role} '{username}' created; the sign-in link below works once, "
            f"until {expires:%Y-%m-%d %H:%M} UTC"
        )
    else:
        err.print(f"{role} '{username}' created; password: {password}")
    typer.echo(last)


@app.command()
def gc(
    grace_minutes: Annotated[
        float | None,
        typer.Option(help="Keep unreferenced blobs younger than this (default: the setting)"),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Only count what would be deleted")] = False,
) -> None:
    """Delete stored files that no submission or challenge references."""
    _settings_or_exit()
    from server.blobgc import collect

    grace = None if grace_minutes is None else grace_minutes * 60
    done = collect(grace_seconds=grace, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    err.print(
        f"{verb} {done.blobs} unreferenced blobs and {done.temporary} stale temporary files "
        f"({done.bytes / 1048576:.1f} MB)"
    )


@app.command()
def demo(host: HostOption = "127.0.0.1", port: PortOption = 8000) -> None:
    """Set up a real MNIST challenge with demo accounts, then serve (SQLite, no network)."""
    _settings_or_exit()
    from server.demo import run_demo

    run_demo(host, port)


@app.command()
def worker(
    queues: Annotated[
        str, typer.Option(help="Comma-separated queues: cpu (CSV files), gpu (checkpoints)")
    ] = "cpu,gpu",
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs run at once (processes)")] = 1,
    hostname: Annotated[
        str | None, typer.Option(help="Worker name in logs and the queue view, e.g. gpu1@%h")
    ] = None,
    loglevel: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR")] = "INFO",
) -> None:
    """Score jobs from the broker (PODIUM_BROKER_URL), reaching the server over HTTP."""
    from server.config import DEFAULT_WORKER_TOKEN, Settings

    settings = _settings_or_exit()
    assert isinstance(settings, Settings)
    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(wanted) - {"cpu", "gpu"})
    if not wanted or unknown:
        err.print(f"[red]error:[/red] unknown queue(s) {', '.join(unknown)}; use cpu and/or gpu")
        raise typer.Exit(2)
    if not settings.broker_url:
        err.print("[red]error:[/red] set PODIUM_BROKER_URL (e.g. redis://host:6379/0)")
        raise typer.Exit(2)
    if settings.worker_token == DEFAULT_WORKER_TOKEN and settings.env != "test":
        err.print("[red]error:[/red] set PODIUM_WORKER_TOKEN to the server's worker token")
        raise typer.Exit(2)
    from server.filemodes import secure_worker_cache
    from server.workers.client import cache_dir
    from server.workers.runner import run_worker

    logging.basicConfig(level=logging.INFO)
    secure_worker_cache(cache_dir(settings))
    run_worker(wanted, concurrency, hostname, loglevel.upper())


@app.command("bundle-schema")
def bundle_schema(
    write: Annotated[
        bool, typer.Option("--write", help="Rewrite the server's and the client's schema files")
    ] = False,
) -> None:
    """Print the JSON Schema of a bundle's challenge.yaml (from the create schema)."""
    import json
    from pathlib import Path

    from server.challenges.bundles import SCHEMA_PATH, bundle_json_schema

    text = json.dumps(bundle_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if not write:
        typer.echo(text, nl=False)
        return
    client_copy = SCHEMA_PATH.parents[2] / "client" / "podium" / "bundle.schema.json"
    for path in (SCHEMA_PATH, client_copy):
        if path.parent.is_dir():
            Path(path).write_text(text, encoding="utf-8")
            typer.echo(f"wrote {path.name} in {path.parent.name}/")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
