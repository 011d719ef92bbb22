"""Course tools: baseline rows, announcements, bundles and clones.

``podium admin baseline add|list|delete``, ``podium admin bundle``,
``podium admin clone``, ``podium admin announce``, and ``podium announcements``
for everyone. ``podium admin create --bundle DIR`` lives in `podium.cli.admin`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .._rules import BundleError
from ._errors import fail
from ._options import JsonFlag, Slug, YesFlag
from ._output import console, print_json, score, table, when
from ._state import get_client

baseline_app = typer.Typer(
    help="Baseline rows: reference entries shown on the boards without a rank.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(metavar="NAME", help='Shown as "Baseline · NAME".')]


@baseline_app.command("add")
def baseline_add(
    ctx: typer.Context,
    slug: Slug,
    name: Name,
    file: Annotated[Path, typer.Option("--file", "-f", help="Predictions CSV or a checkpoint.")],
    description: Annotated[str, typer.Option("--description", "-d", help="One line.")] = "",
    kind: Annotated[str, typer.Option("--kind", help="csv or checkpoint.")] = "csv",
) -> None:
    """Add a baseline row, scored like a submission (hosts)."""
    added = get_client(ctx).add_baseline(slug, name, file, description=description, kind=kind)
    shown = f", public score {score(added.public_score)}" if added.public_score is not None else ""
    typer.echo(f"Added {added.label} to {slug}: {added.status}{shown}")


@baseline_app.command("list")
def baseline_list(ctx: typer.Context, slug: Slug, as_json: JsonFlag = False) -> None:
    """The challenge's baseline rows."""
    rows = get_client(ctx).baselines(slug)
    if as_json:
        print_json([b.raw for b in rows])
        return
    if not rows:
        typer.echo(f"{slug} has no baselines.")
        return
    t = table("baseline", "status", "public", "private", title=f"{slug}: baselines")
    for b in rows:
        t.add_row(b.label, b.status, score(b.public_score), score(b.private_score))
    console.print(t)


@baseline_app.command("delete")
def baseline_delete(ctx: typer.Context, slug: Slug, name: Name, yes: YesFlag = False) -> None:
    """Remove a baseline row (hosts)."""
    if not yes:
        typer.confirm(f"Delete the baseline {name!r} of {slug}?", abort=True)
    get_client(ctx).delete_baseline(slug, name)
    typer.echo(f"Deleted the baseline {name!r} of {slug}.")


def bundle(
    ctx: typer.Context,
    slug: Slug,
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="A new (or empty) folder.")],
) -> None:
    """Write a challenge out as a bundle folder, solution included (hosts)."""
    try:
        written = get_client(ctx).download_bundle(slug, folder)
    except BundleError as error:
        raise fail(str(error)) from None
    typer.echo(f"Wrote {slug} as a bundle in {folder} ({len(written)} files).")
    typer.echo(f"Create a copy with: podium admin create --bundle {folder}")


def clone(
    ctx: typer.Context,
    slug: Slug,
    new_slug: Annotated[str, typer.Argument(metavar="NEW_SLUG", help="The copy's slug.")],
    title: Annotated[str, typer.Option("--title", help="The copy's title.")],
) -> None:
    """Copy a challenge's settings, files and solution into a new draft (hosts)."""
    copy = get_client(ctx).clone(slug, new_slug, title)
    typer.echo(f"Cloned {slug} into {copy.slug}: {copy.state or 'draft'}")


def announce(
    ctx: typer.Context,
    slug: Slug,
    title: Annotated[str, typer.Argument(metavar="TITLE", help="One line.")],
    body: Annotated[str, typer.Option("--body", help="Markdown.")] = "",
    body_file: Annotated[
        Path | None, typer.Option("--body-file", help="Read the Markdown body from a file.")
    ] = None,
) -> None:
    """Post an announcement: on the challenge page and to its Discord/Slack webhooks."""
    if body and body_file is not None:
        raise typer.BadParameter("give --body or --body-file, not both")
    if body_file is not None:
        body = body_file.read_text(encoding="utf-8")
    posted = get_client(ctx).announce(slug, title, body)
    typer.echo(f"Announced on {slug}: {posted.title} (#{posted.id})")


def announcements(ctx: typer.Context, slug: Slug, as_json: JsonFlag = False) -> None:
    """A challenge's announcements, newest first."""
    items = get_client(ctx).announcements(slug)
    if as_json:
        print_json([a.raw for a in items])
        return
    if not items:
        typer.echo(f"No announcements on {slug}.")
        return
    for a in items:
        typer.secho(f"{when(a.created_at)}  {a.title}", bold=True)
        if a.body.strip():
            typer.echo("  " + a.body.strip().replace("\n", "\n  "))
        typer.echo("")
