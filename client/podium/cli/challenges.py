"""``podium challenges``, ``challenge``, ``files``, ``download``, ``join``."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from .._models import Challenge
from ._options import JsonFlag, Slug
from ._output import console, print_json, size, table, text, when
from ._state import get_client


def challenges(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the challenges."""
    items = get_client(ctx).challenges()
    if as_json:
        print_json([c.raw for c in items])
        return
    if not items:
        typer.echo("No challenges yet.")
        return
    t = table("slug", "title", "state", "metric", "closes", "teams", "subs")
    for c in items:
        t.add_row(
            c.slug,
            c.title,
            c.state,
            c.metric,
            when(c.closes_at),
            text(c.teams_count),
            text(c.submissions_count),
        )
    console.print(t)


def _limits_text(c: Challenge) -> str:
    limits = c.limits or ({"per_day": c.daily_submission_limit} if c.daily_submission_limit else {})
    parts = []
    if "per_day" in limits:
        parts.append(f"{limits['per_day']} per day ({c.timezone or 'UTC'})")
    window = limits.get("per_window")
    if isinstance(window, dict):
        parts.append(f"{window.get('count')} per {window.get('minutes')} min")
    if "total" in limits:
        parts.append(f"{limits['total']} in total")
    if "min_interval_seconds" in limits:
        parts.append(f"{limits['min_interval_seconds']} s apart")
    return "; ".join(parts) or "none"


def challenge(ctx: typer.Context, slug: Slug, as_json: JsonFlag = False) -> None:
    """Show one challenge: rules, limits and deadline."""
    c = get_client(ctx).challenge(slug)
    if as_json:
        print_json(c.raw)
        return
    console.print(f"[bold]{c.title}[/bold] ({c.slug}), {c.state}", markup=True)
    rows = [
        ("metric", c.metric),
        ("opens", when(c.opens_at)),
        ("closes", when(c.closes_at)),
        ("submission limits", _limits_text(c)),
        ("max team size", text(c.max_team_size)),
        ("final selections", text(c.final_selection_count)),
        ("submission kinds", ", ".join(c.submission_kinds) or "csv"),
        ("late submissions", "scored, never ranked" if c.late_submissions else "no"),
        ("teams", text(c.teams_count)),
        ("submissions", text(c.submissions_count)),
    ]
    for label, value in rows:
        typer.echo(f"  {label + ':':<24}{value}")
    if c.description:
        typer.echo("")
        typer.echo(c.description.rstrip())


def files(ctx: typer.Context, slug: Slug, as_json: JsonFlag = False) -> None:
    """List a challenge's public files."""
    items = get_client(ctx).files(slug)
    if as_json:
        print_json([f.raw for f in items])
        return
    t = table("name", "size", "sha256")
    for f in items:
        t.add_row(f.name, size(f.size), f.sha256[:16])
    console.print(t)


def download(
    ctx: typer.Context,
    slug: Slug,
    path: Annotated[
        Path | None,
        typer.Option("--path", "-p", help="Folder to write to (default: ./data/SLUG)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Download every public file; skip the ones already there, resume partial ones."""
    directory = path if path is not None else Path("data") / slug
    progress = False if quiet or as_json else None
    results = get_client(ctx).download(slug, directory, progress=progress)
    if as_json:
        print_json([{**asdict(r), "path": str(r.path)} for r in results])
        return
    for r in results:
        typer.echo(f"{r.status:>10}  {r.name} ({size(r.size)})")
    typer.echo(f"{len(results)} file(s) in {directory}")


def join(ctx: typer.Context, slug: Slug) -> None:
    """Join a challenge (accept its rules); you start as a team of one."""
    team = get_client(ctx).join(slug)
    typer.echo(f"Joined {slug} as team {team.name!r}.")
