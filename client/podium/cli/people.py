"""Accounts and the people of a challenge: ``podium admin users|hosts ...``, invitations,
requests, moderation, and everyone's ``podium register``, ``passwd`` and ``logout``."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from .._config import ENV_TOKEN, forget_token, save_config
from .._exceptions import AuthenticationError
from ._options import JsonFlag, Slug
from ._output import print_json
from ._state import get_client

users = typer.Typer(help="Accounts: import a roster, reset links, disable (organizers, admins).")
hosts = typer.Typer(help="The hosts of a challenge: they manage it as its creator does.")

UserArg = Annotated[str, typer.Argument(metavar="USER", help="A username.")]
LINK_COLUMNS = ["username", "display_name", "email", "student_id", "url", "expires_at"]


def _write_links(rows: list[dict[str, Any]], output: Path | None) -> None:
    if output is None:
        for row in rows:
            typer.echo(f"{row.get('username')}\t{row.get('url')}")
        return
    with output.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=LINK_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    output.chmod(0o600)


# ---- everyone -----------------------------------------------------------------------------


def register(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option("--url", help="Server URL.")] = None,
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="The username you want.")
    ] = None,
) -> None:
    """Create an account (where sign-up is open), log in and save the token."""
    username = username or typer.prompt("Username")
    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    client = get_client(ctx, url=url)
    client.register(username, password)
    client.login(username, password)
    path = save_config(url=client.url, token=client.token)
    typer.echo(f"Registered and logged in to {client.url} as {username}. Token saved to {path}.")


def passwd(ctx: typer.Context) -> None:
    """Change your password (your other tokens and browser sessions stop working)."""
    client = get_client(ctx)
    current = typer.prompt("Current password", hide_input=True)
    new = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    revoked = client.change_password(current, new)
    typer.echo(f"Password changed; {revoked} other token(s) and session(s) signed out.")


def logout(ctx: typer.Context) -> None:
    """Revoke the token on the server and remove it from the config file."""
    client = get_client(ctx)
    try:
        revoked = client.logout()
    except AuthenticationError:
        revoked = False
    path = forget_token()
    typer.echo("Token revoked on the server." if revoked else "The token was no longer valid.")
    if path is not None:
        typer.echo(f"Token removed from {path}.")
    if os.environ.get(ENV_TOKEN):
        typer.echo(f"Warning: ${ENV_TOKEN} is still set in your environment.", err=True)


# ---- users --------------------------------------------------------------------------------


@users.command("import")
def import_roster(
    ctx: typer.Context,
    roster: Annotated[
        Path, typer.Argument(metavar="ROSTER", help="CSV: username,display_name,email,student_id.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the sign-in links to this CSV (mode 600)."),
    ] = None,
) -> None:
    """Create every account of a roster (all or none) with one-time sign-in links (7 days)."""
    rows = get_client(ctx).import_roster(roster)
    _write_links(rows, output)
    where = f" to {output}" if output else ""
    typer.echo(f"Imported {len(rows)} account(s); sign-in links written{where}.", err=True)


@users.command("create")
def create_user(
    ctx: typer.Context,
    username: UserArg,
    role: Annotated[
        str | None, typer.Option("--role", help="participant, organizer or admin (admins).")
    ] = None,
    display_name: Annotated[str, typer.Option("--display-name", help="Full name.")] = "",
    email: Annotated[str | None, typer.Option("--email", help="Email address.")] = None,
    student_id: Annotated[str | None, typer.Option("--student-id", help="Student id.")] = None,
) -> None:
    """Make one account; prints its one-time sign-in link."""
    user = get_client(ctx).create_user(
        username, role=role, display_name=display_name, email=email, student_id=student_id
    )
    link = user.get("sign_in_link") or {}
    typer.echo(f"Created {user.get('username')} ({user.get('role')}).", err=True)
    typer.echo(link.get("url", ""))


@users.command("reset-link")
def reset_link(ctx: typer.Context, username: UserArg) -> None:
    """A new one-time sign-in link for a user who forgot the password."""
    link = get_client(ctx).reset_link(username)
    typer.echo(f"Valid once, until {link.get('expires_at')}:", err=True)
    typer.echo(link.get("url", ""))


@users.command("disable")
def disable(ctx: typer.Context, username: UserArg) -> None:
    """Disable an account (admins): its tokens and sessions stop working at once."""
    get_client(ctx).update_user(username, disabled=True)
    typer.echo(f"Disabled {username}.")


@users.command("enable")
def enable(ctx: typer.Context, username: UserArg) -> None:
    """Enable a disabled account again (admins)."""
    get_client(ctx).update_user(username, disabled=False)
    typer.echo(f"Enabled {username}.")


@users.command("list")
def list_users(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every account (admins)."""
    rows = get_client(ctx).users()
    if as_json:
        print_json(rows)
        return
    for row in rows:
        flags = " (disabled)" if row.get("disabled") else ""
        typer.echo(
            f"{row.get('username')}\t{row.get('role')}\t{row.get('student_id') or ''}{flags}"
        )


# ---- hosts --------------------------------------------------------------------------------


def _show_hosts(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        typer.echo(f"{row.get('username')}{' (creator)' if row.get('creator') else ''}")


@hosts.command("list")
def hosts_list(ctx: typer.Context, slug: Slug) -> None:
    """The creator and the hosts of a challenge."""
    _show_hosts(get_client(ctx).hosts(slug))


@hosts.command("add")
def hosts_add(ctx: typer.Context, slug: Slug, username: UserArg) -> None:
    """Add a host (it manages the challenge, and may not take part in it)."""
    _show_hosts(get_client(ctx).add_host(slug, username))


@hosts.command("remove")
def hosts_remove(ctx: typer.Context, slug: Slug, username: UserArg) -> None:
    get_client(ctx).remove_host(slug, username)
    typer.echo(f"{username} no longer hosts {slug}.")


# ---- invitations, requests, participants, moderation ------------------------------------


def invite(
    ctx: typer.Context,
    slug: Slug,
    usernames: Annotated[list[str], typer.Argument(metavar="USER...", help="Usernames.")],
) -> None:
    """Invite accounts to a (private) challenge: they may see and join it."""
    invited = get_client(ctx).invite(slug, usernames)
    typer.echo(f"Invited {len(invited)} user(s) to {slug}.")


def invite_link(
    ctx: typer.Context,
    slug: Slug,
    rotate: Annotated[bool, typer.Option("--rotate", help="Void the old link.")] = False,
) -> None:
    """The challenge's invite link (signed-in users who open it may enter)."""
    typer.echo(get_client(ctx).invite_link(slug, rotate=rotate).get("url", ""))


def participants(
    ctx: typer.Context,
    slug: Slug,
    status: Annotated[
        str | None, typer.Option("--status", help="active, pending, invited, rejected...")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write a CSV file instead.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Everyone in a challenge: team, submissions, scores; pending requests."""
    rows = get_client(ctx).participants(slug, status)
    if as_json:
        print_json(rows)
        return
    if output is not None:
        with output.open("w", newline="", encoding="utf-8") as fh:
            fields = list(rows[0]) if rows else ["username"]
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        typer.echo(f"Wrote {len(rows)} row(s) to {output}.", err=True)
        return
    for row in rows:
        score = row.get("best_public_score")
        typer.echo(
            f"{row.get('username')}\t{row.get('status')}\t{row.get('team') or ''}\t"
            f"{row.get('student_id') or ''}\t{'' if score is None else score}"
        )


def approve(ctx: typer.Context, slug: Slug, username: UserArg) -> None:
    """Approve a request to join."""
    row = get_client(ctx).decide(slug, username, approve=True)
    typer.echo(f"{username}: {row.get('status')}")


def reject(ctx: typer.Context, slug: Slug, username: UserArg) -> None:
    """Reject a request to join."""
    row = get_client(ctx).decide(slug, username, approve=False)
    typer.echo(f"{username}: {row.get('status')}")


def disqualify(
    ctx: typer.Context,
    slug: Slug,
    team: Annotated[str, typer.Argument(metavar="TEAM", help="The team's name.")],
    reason: Annotated[str, typer.Option("--reason", help="Shown to the team and the hosts.")],
) -> None:
    """Take a team off every board (its submissions and the reason stay)."""
    get_client(ctx).disqualify(slug, team, reason)
    typer.echo(f"Disqualified {team} in {slug}.")


def reinstate(
    ctx: typer.Context,
    slug: Slug,
    team: Annotated[str, typer.Argument(metavar="TEAM", help="The team's name.")],
) -> None:
    """Put a disqualified team back on the boards."""
    get_client(ctx).reinstate(slug, team)
    typer.echo(f"Reinstated {team} in {slug}.")


def install(app: typer.Typer, admin: typer.Typer) -> None:
    """Register the commands: everyone's on ``app``, the organizers' on ``admin``."""
    app.command("register")(register)
    app.command("passwd")(passwd)
    app.command("logout")(logout)
    admin.add_typer(users, name="users")
    admin.add_typer(hosts, name="hosts")
    for name, command in (
        ("invite", invite),
        ("invite-link", invite_link),
        ("participants", participants),
        ("approve", approve),
        ("reject", reject),
        ("disqualify", disqualify),
        ("reinstate", reinstate),
    ):
        admin.command(name)(command)
