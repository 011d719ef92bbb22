"""``podium submit``, ``submissions``, ``submission``, ``cancel``, ``select``."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from .._client import Client
from .._exceptions import PodiumError
from .._models import LimitLeft, Submission, SubmissionId
from ._errors import fail
from ._options import JsonFlag, Slug
from ._output import console, limits_lines, print_json, score, table, text, when
from ._state import get_client


class Kind(StrEnum):
    csv = "csv"
    checkpoint = "checkpoint"


def _submission_id(value: str) -> SubmissionId:
    return int(value) if value.isdigit() else value


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise fail(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise fail(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise fail(f'{path} must hold a JSON object, e.g. {{"model": "mlp"}}')
    return data


def submit(
    ctx: typer.Context,
    slug: Slug,
    file: Annotated[
        Path, typer.Option("--file", "-f", help="Predictions CSV, or a model checkpoint.")
    ],
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="A note to remember it by.")
    ] = None,
    kind: Annotated[Kind, typer.Option("--kind", help="What the file is.")] = Kind.csv,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="JSON config of a weights-only checkpoint."),
    ] = None,
    meta: Annotated[
        Path | None,
        typer.Option("--meta", help="Fact sheet: a JSON object (hyper-parameters, curve)."),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for the score, then show rank and quota.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to --wait at most.", min=1)
    ] = 600.0,
    as_json: JsonFlag = False,
) -> None:
    """Submit a file. Exit code 1 if the server refuses it or (with --wait) it fails."""
    client = get_client(ctx)
    metadata = _read_meta(meta) if meta is not None else None
    sub = client.submit(
        slug, file, message=message, kind=kind.value, config=config, metadata=metadata
    )
    if wait and not sub.finished:
        typer.echo(
            f"Uploaded {file.name} as submission #{sub.id}; waiting for its score...", err=True
        )
        sub = client.wait(sub.id, timeout=timeout)
    if sub.status in ("failed", "cancelled"):
        # Scored synchronously, or we waited: either way it did not work.
        verb = "was cancelled" if sub.status == "cancelled" else "failed"
        raise fail(f"submission #{sub.id} {verb}: {sub.error or 'no reason given'}")
    if sub.status == "scored":
        _report_scored(client, slug, sub, as_json=as_json)
        return
    if as_json:
        print_json(sub.raw)
        return
    late = " (late: scored, never ranked)" if sub.late else ""
    typer.echo(f"Submitted {file.name} to {slug}: submission #{sub.id} is {sub.status}{late}.")
    _print_limits(sub.limits_left, sub.remaining_today)
    typer.echo(f"Follow it with: podium submission {sub.id}")


def _print_limits(
    limits: list[LimitLeft] | None, remaining_today: int | None, daily: int | None = None
) -> None:
    lines = limits_lines(limits)
    if limits is None and remaining_today is not None:  # an older server: the daily limit
        lines = [f"{remaining_today}{f' of {daily}' if daily else ''} left today"]
    for line in lines:
        typer.echo(f"  {line}")


def _report_scored(client: Client, slug: str, sub: Submission, *, as_json: bool) -> None:
    rank = teams = remaining = daily = None
    limits = sub.limits_left
    metric = ""
    try:
        board = client.leaderboard(slug)
        entry = board.find(sub.team) if sub.team else None
        rank, teams, metric = (entry.rank if entry else None), len(board.entries), board.metric
    except PodiumError:
        pass  # the score is what matters; the rank is a bonus
    try:
        team = client.team(slug)
        remaining, limits = team.remaining_today, team.limits_left or limits
        daily = team.daily_submission_limit
    except PodiumError:
        remaining = sub.remaining_today
    if as_json:
        print_json({**sub.raw, "team_rank": rank, "remaining_today": remaining})
        return
    label = f"Public score ({metric})" if metric else "Public score"
    typer.echo(f"Submission #{sub.id} scored. {label}: {score(sub.public_score)}")
    if sub.late:
        typer.echo("This submission is late: it is scored for your team and never ranked.")
    elif rank is not None:
        typer.echo(f"Team rank: {rank} of {teams} on the public leaderboard")
    if limits or remaining is not None:
        typer.echo("Submissions left:")
        _print_limits(limits, remaining, daily)


def submissions(ctx: typer.Context, slug: Slug, as_json: JsonFlag = False) -> None:
    """List your team's submissions to a challenge."""
    items = get_client(ctx).submissions(slug)
    if as_json:
        print_json([s.raw for s in items])
        return
    if not items:
        typer.echo(f"No submissions to {slug} yet.")
        return
    show_private = any(s.private_score is not None for s in items)
    columns = ["id", "created", "kind", "status", "public"]
    if show_private:
        columns.append("private")
    columns += ["final", "message"]
    t = table(*columns)
    for s in items:
        row = [str(s.id), when(s.created_at), s.kind, s.status, score(s.public_score)]
        if show_private:
            row.append(score(s.private_score))
        row += ["*" if s.selected_for_final else "", s.error or text(s.message)]
        t.add_row(*row)
    console.print(t)


def submission(
    ctx: typer.Context,
    submission_id: Annotated[str, typer.Argument(metavar="ID", help="Submission id.")],
    download: Annotated[
        bool, typer.Option("--download", help="Save the file your team submitted.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to save it (default: its file name)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show one submission, or (--download) save the file your team submitted."""
    client = get_client(ctx)
    if download:
        saved = client.download_submission(_submission_id(submission_id), output)
        typer.echo(f"Saved submission #{submission_id} to {saved}")
        return
    s = client.submission(_submission_id(submission_id))
    if as_json:
        print_json(s.raw)
        return
    rows = [
        ("challenge", text(s.challenge)),
        ("team", text(s.team)),
        ("kind", s.kind),
        ("status", s.status + (" (late: never ranked)" if s.late else "")),
        ("public score", score(s.public_score)),
    ]
    if s.private_score is not None:
        rows.append(("private score", score(s.private_score)))
    rows += [
        ("message", text(s.message)),
        ("created", when(s.created_at)),
        ("scored", when(s.scored_at)),
        ("selected for final", "yes" if s.selected_for_final else "no"),
    ]
    if s.error:
        rows.append(("error", s.error))
    typer.echo(f"Submission #{s.id}")
    for label, value in rows:
        typer.echo(f"  {label + ':':<20}{value}")


def cancel(
    ctx: typer.Context,
    submission_id: Annotated[str, typer.Argument(metavar="ID", help="Submission id.")],
    as_json: JsonFlag = False,
) -> None:
    """Cancel a queued or running submission of your team (it uses no quota)."""
    s = get_client(ctx).cancel(_submission_id(submission_id))
    if as_json:
        print_json(s.raw)
        return
    typer.echo(f"Submission #{s.id} is cancelled; it does not count against any limit.")


def select(
    ctx: typer.Context,
    slug: Slug,
    ids: Annotated[list[str], typer.Argument(metavar="ID", help="Submission ids.")],
    as_json: JsonFlag = False,
) -> None:
    """Choose the submissions that count for the private leaderboard."""
    selected = get_client(ctx).select(slug, [_submission_id(i) for i in ids])
    if as_json:
        print_json({"selected": selected})
        return
    listed = ", ".join(f"#{i}" for i in selected) or "none"
    typer.echo(f"Selected for the private leaderboard of {slug}: {listed}")
