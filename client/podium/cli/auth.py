"""``podium login`` and ``podium whoami``."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from .._config import ENV_TOKEN, ENV_URL, save_config
from ._options import JsonFlag
from ._output import print_json, when
from ._state import get_client


def login(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option("--url", help=f"Server URL (default: ${ENV_URL}, the saved one, or local)."),
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="An API token you already have.")
    ] = None,
    username: Annotated[
        str | None,
        typer.Option("--username", "-u", help="Log in with a password (prompted) instead."),
    ] = None,
) -> None:
    """Log in and save the server URL and token to the config file (mode 600)."""
    if token and username:
        raise typer.BadParameter("give either --token or --username, not both")
    if not token and not username:
        username = typer.prompt("Username")
    if token:
        client = get_client(ctx, url=url, token=token)
    else:
        client = get_client(ctx, url=url)
        password = typer.prompt("Password", hide_input=True)
        client.login(username or "", password)
    user = client.whoami()  # proves the token works before anything is saved
    path = save_config(url=client.url, token=client.token)
    typer.echo(f"Logged in to {client.url} as {user.username} ({user.role}).")
    typer.echo(f"Token saved to {path}.")
    if os.environ.get(ENV_TOKEN) and os.environ[ENV_TOKEN] != client.token:
        typer.echo(
            f"Warning: ${ENV_TOKEN} is set and takes precedence over the saved token.", err=True
        )
    if os.environ.get(ENV_URL) and os.environ[ENV_URL].rstrip("/") != client.url:
        typer.echo(f"Warning: ${ENV_URL} is set and takes precedence over the saved URL.", err=True)


def whoami(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the account that the current token belongs to."""
    client = get_client(ctx)
    user = client.whoami()
    if as_json:
        print_json({**user.raw, "server": client.url})
        return
    typer.echo(f"{user.username} ({user.role}) on {client.url}")
    if user.created_at:
        typer.echo(f"member since {when(user.created_at)}")
