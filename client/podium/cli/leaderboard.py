"""``podium leaderboard``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ._options import JsonFlag, Slug
from ._output import console, move, print_csv, print_json, score, table, text, when
from ._state import get_client


def leaderboard(
    ctx: typer.Context,
    slug: Slug,
    private: Annotated[
        bool, typer.Option("--private", help="The private board (after finalization).")
    ] = False,
    as_json: JsonFlag = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
    track: Annotated[
        str | None,
        typer.Option(
            "--track",
            help="A parameter-budget track of the challenge (e.g. tiny): only the "
            "checkpoints whose measured parameter count fits its budget.",
        ),
    ] = None,
) -> None:
    """Show a challenge's leaderboard (or one of its parameter-budget tracks)."""
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv")
    board = get_client(ctx).leaderboard(slug, "private" if private else "public", track=track)
    if as_json:
        print_json(board.raw)
        return
    others = board.metrics[1:]  # the tie-breaking metrics, as extra columns
    header = ["rank", "team", "score", "submissions", "last_submission_at"]
    if private:
        header += ["public_rank", "move"]
    if as_csv:
        print_csv(
            header + others,
            (
                [e.rank, e.team, e.score, e.submissions, e.raw.get("last_submission_at")]
                + ([e.public_rank, e.move] if private else [])
                + [e.extra_scores.get(m) for m in others]
                for e in board.entries
            ),
        )
        return
    baselines = [b for b in board.raw.get("baselines") or [] if isinstance(b, dict)]
    on_track = ""
    if board.raw.get("track"):
        budget = board.raw.get("max_parameters")
        limit = f" (at most {budget:,} parameters)" if isinstance(budget, int) else ""
        on_track = f", track {board.raw['track']}{limit}"
    if not board.entries and not baselines:
        typer.echo(f"The {board.board} leaderboard of {slug}{on_track} is empty.")
        return
    columns = ["rank", "team", board.metric or "score", *others, "submissions", "last"]
    if private:
        columns += ["public", "move"]
    t = table(*columns, title=f"{slug}: {board.board} leaderboard{on_track}")
    greater = board.greater_is_better is not False
    pending = sorted(baselines, key=lambda b: -b["score"] if greater else b["score"])

    def ahead(b: dict[str, Any], value: float | None) -> bool:
        # A baseline goes above the first team it beats (ties: below the teams).
        return value is None or (b["score"] > value if greater else b["score"] < value)

    def baseline_row(b: dict[str, Any]) -> None:
        t.add_row(
            "–", str(b.get("label", "")), score(b["score"]), "", "", *([""] * (len(columns) - 5))
        )

    for e in board.entries:
        while pending and ahead(pending[0], e.score):
            baseline_row(pending.pop(0))
        row = [
            text(e.rank),
            e.team,
            score(e.score),
            *(score(e.extra_scores.get(m)) for m in others),
            text(e.submissions),
            when(e.last_submission_at),
        ]
        if private:
            row += [text(e.public_rank), move(e.move)]
        t.add_row(*row)
    for b in pending:
        baseline_row(b)
    console.print(t)
