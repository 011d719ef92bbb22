"""``podium-server``: serve, demo, migrate, create-organizer, worker."""

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
) -> None:
    """Migrate the database, then serve the API and pages."""
    import uvicorn

    _settings_or_exit()
    from server.migrations import upgrade

    upgrade()
    logging.basicConfig(level=logging.INFO)
    uvicorn.run(
        "server.asgi:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=64 * 1024,
    )


@app.command("create-organizer")
def create_organizer(
    username: str,
    password: Annotated[
        str | None, typer.Option(help="Password (default: a random one, printed)")
    ] = None,
) -> None:
    """Create an organizer account and print a new API token on the last line."""
    _settings_or_exit()
    from fastapi import HTTPException

    from server.accounts import service
    from server.db import session_scope
    from server.migrations import upgrade
    from server.models import Role

    upgrade()
    password = password or secrets.token_urlsafe(16)
    try:
        with session_scope() as session:
            user = service.create_user(session, username, password, Role.organizer)
            _, token = service.issue_token(session, user, name="create-organizer")
    except HTTPException as error:
        err.print(f"[red]error:[/red] {error.detail}")
        raise typer.Exit(1) from None
    err.print(f"organizer '{username}' created; password: {password}")
    typer.echo(token)


@app.command()
def demo(host: HostOption = "127.0.0.1", port: PortOption = 8000) -> None:
    """Set up a real MNIST challenge with demo accounts, then serve (SQLite, no network)."""
    _settings_or_exit()
    from server.demo import run_demo

    run_demo(host, port)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
