"""``podium team show|invite|join|rename``."""

from __future__ import annotations

from typing import Annotated

import typer

from ._options import JsonFlag, Slug
from ._output import limits_lines, print_json, text
from ._state import get_client

app = typer.Typer(help="Your team in a challenge.", no_args_is_help=True)


@app.command("show")
def show(ctx: typer.Context, slug: Slug, as_json: JsonFlag = False) -> None:
    """Show your team: members and what is left under every submission limit."""
    team = get_client(ctx).team(slug)
    if as_json:
        print_json(team.raw)
        return
    typer.echo(f"Team {team.name!r} in {slug}")
    typer.echo(f"  members:          {', '.join(team.members) or '—'}")
    lines = limits_lines(team.limits_left)
    if team.limits_left is None:  # an older server: the daily limit only
        limit = f" of {team.daily_submission_limit}" if team.daily_submission_limit else ""
        lines = [f"{text(team.remaining_today)}{limit} left today"]
    typer.echo("  submissions left: " + ("; ".join(lines) if lines else "no limit"))


@app.command("invite")
def invite(
    ctx: typer.Context,
    slug: Slug,
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Replace the code; the old one stops working.")
    ] = False,
) -> None:
    """Print your team's invite code for a teammate."""
    code = get_client(ctx).team_invite(slug, rotate=rotate)
    typer.echo(code)
    typer.echo(f"Your teammate runs: podium team join {code} {slug}", err=True)


@app.command("join")
def join(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(metavar="CODE", help="The invite code.")],
    slug: Slug,
) -> None:
    """Join the team that gave you CODE."""
    team = get_client(ctx).team_join(slug, code)
    typer.echo(f"Joined team {team.name!r} in {slug}: {', '.join(team.members)}")


@app.command("rename")
def rename(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The new team name.")],
    slug: Slug,
) -> None:
    """Rename your team."""
    team = get_client(ctx).rename_team(slug, name)
    typer.echo(f"Your team in {slug} is now {team.name!r}.")
