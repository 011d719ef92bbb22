"""``podium admin ...``: the organizer's commands."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from .._models import Challenge
from .._rules import BundleError
from ._errors import fail
from ._fields import Late, Metrics, MinInterval, PerDay, PerWindow, Timezone, Total, fields_of
from ._options import JsonFlag, Slug, YesFlag
from ._output import print_json, size, text, when
from ._state import get_client

app = typer.Typer(help="Organizer commands: create and run a challenge.", no_args_is_help=True)


class Board(StrEnum):
    public = "public"
    private = "private"


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"


def _timestamp(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 date: {value!r}") from None
    return value


Title = Annotated[str | None, typer.Option("--title", help="Display title.")]
Description = Annotated[str | None, typer.Option("--description", help="Markdown description.")]
DescriptionFile = Annotated[
    Path | None,
    typer.Option("--description-file", help="Read the Markdown description from a file."),
]
Metric = Annotated[str | None, typer.Option("--metric", help="e.g. accuracy, f1_macro, rmse.")]
OpensAt = Annotated[
    str | None, typer.Option("--opens-at", help="ISO 8601, UTC if no offset.", callback=_timestamp)
]
ClosesAt = Annotated[
    str | None, typer.Option("--closes-at", help="ISO 8601, UTC if no offset.", callback=_timestamp)
]
DailyLimit = Annotated[
    int | None,
    typer.Option("--daily-limit", min=1, help="Submissions per team per day (= --per-day)."),
]
TeamSize = Annotated[int | None, typer.Option("--team-size", min=1, help="Max team size.")]
FinalSelection = Annotated[
    int | None, typer.Option("--final-selection", min=1, help="Submissions a team may select.")
]
Kinds = Annotated[
    str | None, typer.Option("--kinds", help="Allowed submission kinds: csv, checkpoint.")
]
Visibility = Annotated[
    str | None,
    typer.Option(
        "--visibility", help="public, unlisted (by URL only) or private (invited users only)."
    ),
]
EmailDomains = Annotated[
    str | None,
    typer.Option("--email-domains", help="Private: let in these email domains, e.g. ens.fr."),
]
Approval = Annotated[
    bool | None,
    typer.Option("--approval/--no-approval", help="Hosts approve each participant."),
]
Atlas = Annotated[
    str | None,
    typer.Option(
        "--atlas", help="Class atlas for participants: live, or after_finalize (hosts always)."
    ),
]
FromJson = Annotated[
    Path | None, typer.Option("--from-json", help="Read the fields from a JSON object file.")
]


def _show(challenge: Challenge, verb: str, as_json: bool) -> None:
    if as_json:
        print_json(challenge.raw)
        return
    typer.echo(f"{verb} {challenge.slug}: {challenge.state or 'unknown state'}")
    if challenge.closes_at:
        typer.echo(f"  closes {when(challenge.closes_at)}")


@app.command("create")
def create(
    ctx: typer.Context,
    slug: Annotated[
        str | None, typer.Argument(metavar="SLUG", help="The challenge (not with --bundle).")
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", help="Create everything from a bundle folder (docs/bundles.md)."),
    ] = None,
    open_it: Annotated[
        bool, typer.Option("--open", help="With --bundle: open the challenge once created.")
    ] = False,
    title: Title = None,
    description: Description = None,
    description_file: DescriptionFile = None,
    metric: Metric = None,
    opens_at: OpensAt = None,
    closes_at: ClosesAt = None,
    daily_limit: DailyLimit = None,
    per_day: PerDay = None,
    per_window: PerWindow = None,
    total: Total = None,
    min_interval_seconds: MinInterval = None,
    timezone: Timezone = None,
    late_submissions: Late = None,
    metrics: Metrics = None,
    team_size: TeamSize = None,
    final_selection: FinalSelection = None,
    kinds: Kinds = None,
    visibility: Visibility = None,
    email_domains: EmailDomains = None,
    approval: Approval = None,
    atlas: Atlas = None,
    from_json: FromJson = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a challenge (a draft), or everything from a bundle folder with --bundle.

    With any of --per-day, --per-window, --total, --min-interval-seconds, the limits
    are those given (and --daily-limit): no daily limit unless one says so."""
    if bundle is not None:
        _create_from_bundle(ctx, bundle, open_it, slug, as_json)
        return
    if slug is None:
        raise typer.BadParameter("give the challenge's SLUG, or --bundle DIR")
    if open_it:
        raise typer.BadParameter("--open goes with --bundle (or use `podium admin open`)")
    fields = fields_of(
        from_json=from_json,
        title=title,
        description=description,
        description_file=description_file,
        metric=metric,
        opens_at=opens_at,
        closes_at=closes_at,
        daily_limit=daily_limit,
        team_size=team_size,
        final_selection=final_selection,
        kinds=kinds,
        visibility=visibility,
        email_domains=email_domains,
        approval=approval,
        per_day=per_day,
        per_window=per_window,
        total=total,
        min_interval_seconds=min_interval_seconds,
        timezone=timezone,
        late_submissions=late_submissions,
        metrics=metrics,
        atlas=atlas,
    )
    fields["slug"] = slug
    fields.setdefault("title", slug)
    _show(get_client(ctx).create_challenge(**fields), "Created", as_json)


def _create_from_bundle(
    ctx: typer.Context, folder: Path, open_it: bool, slug: str | None, as_json: bool
) -> None:
    if slug is not None:
        raise typer.BadParameter("with --bundle, the slug comes from challenge.yaml")
    try:
        challenge = get_client(ctx).create_from_bundle(folder, open=open_it)
    except BundleError as error:
        raise fail(f"{error}\nNothing was created.") from None
    _show(challenge, "Created", as_json)
    if not as_json:
        typer.echo(
            f"  {challenge.raw.get('submissions_count', 0)} submissions, "
            f"solution: {'yes' if challenge.raw.get('has_solution') else 'no'}, "
            f"hidden inputs: {'yes' if challenge.raw.get('has_hidden_inputs') else 'no'}"
        )


@app.command("update")
def update(
    ctx: typer.Context,
    slug: Slug,
    title: Title = None,
    description: Description = None,
    description_file: DescriptionFile = None,
    metric: Metric = None,
    opens_at: OpensAt = None,
    closes_at: ClosesAt = None,
    daily_limit: DailyLimit = None,
    per_day: PerDay = None,
    per_window: PerWindow = None,
    total: Total = None,
    min_interval_seconds: MinInterval = None,
    timezone: Timezone = None,
    late_submissions: Late = None,
    metrics: Metrics = None,
    team_size: TeamSize = None,
    final_selection: FinalSelection = None,
    kinds: Kinds = None,
    visibility: Visibility = None,
    email_domains: EmailDomains = None,
    approval: Approval = None,
    atlas: Atlas = None,
    from_json: FromJson = None,
    as_json: JsonFlag = False,
) -> None:
    """Change some fields of a challenge; the others stay as they are (limits too)."""
    fields = fields_of(
        from_json=from_json,
        title=title,
        description=description,
        description_file=description_file,
        metric=metric,
        opens_at=opens_at,
        closes_at=closes_at,
        daily_limit=daily_limit,
        team_size=team_size,
        final_selection=final_selection,
        kinds=kinds,
        visibility=visibility,
        email_domains=email_domains,
        approval=approval,
        per_day=per_day,
        per_window=per_window,
        total=total,
        min_interval_seconds=min_interval_seconds,
        timezone=timezone,
        late_submissions=late_submissions,
        metrics=metrics,
        atlas=atlas,
    )
    if any(v is not None for v in (per_day, per_window, total, min_interval_seconds)):
        # The API replaces every limit: keep the ones these options leave alone.
        kept = {k: v for k, v in get_client(ctx).challenge(slug).limits.items() if v is not None}
        daily = {"per_day": fields.pop("daily_submission_limit")} if daily_limit else {}
        fields["limits"] = {**kept, **daily, **fields["limits"]}
    if not fields:
        raise typer.BadParameter("nothing to update: give at least one option")
    _show(get_client(ctx).update_challenge(slug, **fields), "Updated", as_json)


@app.command("upload")
def upload(
    ctx: typer.Context,
    slug: Slug,
    paths: Annotated[list[Path], typer.Argument(metavar="FILE", help="Files to publish.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Published name (one file only).")
    ] = None,
) -> None:
    """Publish public files (train data, test inputs, sample submission)."""
    if name is not None and len(paths) != 1:
        raise typer.BadParameter("--name needs exactly one file")
    client = get_client(ctx)
    for path in paths:
        f = client.upload_file(slug, path, name=name)
        typer.echo(f"uploaded  {f.name} ({size(f.size)}, sha256 {f.sha256[:16]})")


@app.command("solution")
def solution(
    ctx: typer.Context,
    slug: Slug,
    path: Annotated[Path, typer.Argument(metavar="FILE", help="CSV: id,<target>,usage.")],
) -> None:
    """Upload the hidden solution (never downloadable by participants)."""
    info = get_client(ctx).upload_solution(slug, path)
    typer.echo(
        f"Solution for {slug}: {text(info.rows)} rows ({text(info.public_rows)} public, "
        f"{text(info.private_rows)} private), target {text(info.target)}"
    )


@app.command("hidden-inputs")
def hidden_inputs(
    ctx: typer.Context,
    slug: Slug,
    path: Annotated[
        Path, typer.Argument(metavar="FILE", help="An .npy array, rows = solution ids.")
    ],
) -> None:
    """Upload the hidden inputs that model checkpoints are evaluated on."""
    info = get_client(ctx).upload_hidden_inputs(slug, path)
    detail = ", ".join(f"{k} {v}" for k, v in info.items())
    typer.echo(f"Hidden inputs for {slug} uploaded{': ' + detail if detail else ''}")


@app.command("open")
def open_(ctx: typer.Context, slug: Slug, as_json: JsonFlag = False) -> None:
    """Open a challenge for submissions."""
    _show(get_client(ctx).open_challenge(slug), "Opened", as_json)


@app.command("close")
def close(ctx: typer.Context, slug: Slug, as_json: JsonFlag = False) -> None:
    """Close a challenge before its deadline."""
    _show(get_client(ctx).close_challenge(slug), "Closed", as_json)


@app.command("finalize")
def finalize(ctx: typer.Context, slug: Slug, yes: YesFlag = False) -> None:
    """Finalize: reveal the private leaderboard. There is no going back."""
    if not yes:
        typer.confirm(f"Finalize {slug} and reveal its private leaderboard?", abort=True)
    challenge = get_client(ctx).finalize(slug)
    typer.echo(f"Finalized {slug}: {challenge.state or 'finalized'}.")
    typer.echo(f"See it with: podium leaderboard {slug} --private")


@app.command("rescore")
def rescore(ctx: typer.Context, slug: Slug) -> None:
    """Score every submission again (after fixing the solution)."""
    count = get_client(ctx).rescore(slug)
    typer.echo(f"Re-scoring {count} submission(s) of {slug}.")


@app.command("requeue")
def requeue(
    ctx: typer.Context,
    slug: Slug,
    ids: Annotated[
        list[int] | None,
        typer.Argument(help="Submission ids (default: every platform failure).", min=1),
    ] = None,
) -> None:
    """Queue again submissions that failed through a platform error (a lost worker...)."""
    queued = get_client(ctx).requeue(slug, ids or None)
    if not queued:
        typer.echo(f"No platform failure to queue again in {slug}.")
        return
    typer.echo(
        f"Queued again {len(queued)} submission(s) of {slug}: " + ", ".join(map(str, queued))
    )


@app.command("export")
def export(
    ctx: typer.Context,
    slug: Slug,
    board: Annotated[Board, typer.Option("--board", help="Which leaderboard.")] = Board.public,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or json.")] = ExportFormat.csv,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to a file, not stdout.")
    ] = None,
    track: Annotated[
        str | None, typer.Option("--track", help="A parameter-budget track's board.")
    ] = None,
) -> None:
    """Export a full leaderboard, private scores included."""
    data = get_client(ctx).export(slug, board.value, fmt.value, track=track)
    if output is None:
        typer.echo(data, nl=not data.endswith("\n"))
        return
    output.write_text(data, encoding="utf-8")
    typer.echo(f"Wrote the {board.value} leaderboard of {slug} to {output}.", err=True)
