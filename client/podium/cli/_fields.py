"""The challenge fields of ``podium admin create`` and ``update``: the options of the
rules (submission limits, timezone, late submissions, several metrics) and how every
option becomes the API's fields, as they are (the server checks them)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer


def _window(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"\s*\d+\s*/\s*\d+\s*", value):
        raise typer.BadParameter(f"give COUNT/MINUTES, e.g. 3/60, not {value!r}")
    return value


PerDay = Annotated[
    int | None,
    typer.Option(
        "--per-day",
        min=1,
        help="Submissions per team per day; the day starts at midnight in --timezone "
        "(the same limit as --daily-limit).",
    ),
]
PerWindow = Annotated[
    str | None,
    typer.Option(
        "--per-window",
        metavar="COUNT/MINUTES",
        callback=_window,
        help="At most COUNT submissions in any rolling MINUTES, e.g. 3/60 (a lab session).",
    ),
]
Total = Annotated[
    int | None, typer.Option("--total", min=1, help="Submissions per team over the challenge.")
]
MinInterval = Annotated[
    int | None,
    typer.Option(
        "--min-interval-seconds", min=1, help="Cool-down between two submissions of a team."
    ),
]
Timezone = Annotated[
    str | None,
    typer.Option("--timezone", help="IANA name, e.g. Europe/Paris: where a day starts (UTC)."),
]
Late = Annotated[
    bool | None,
    typer.Option(
        "--late-submissions/--no-late-submissions",
        help="Score submissions made after the deadline (never ranked; the team sees them).",
    ),
]
Metrics = Annotated[
    str | None,
    typer.Option(
        "--metrics",
        help="Several metrics, comma-separated: the first ranks, the others break ties "
        "(instead of --metric).",
    ),
]


def fields_of(
    *,
    from_json: Path | None,
    title: str | None,
    description: str | None,
    description_file: Path | None,
    metric: str | None,
    opens_at: str | None,
    closes_at: str | None,
    daily_limit: int | None,
    team_size: int | None,
    final_selection: int | None,
    kinds: str | None,
    visibility: str | None = None,
    email_domains: str | None = None,
    approval: bool | None = None,
    per_day: int | None = None,
    per_window: str | None = None,
    total: int | None = None,
    min_interval_seconds: int | None = None,
    timezone: str | None = None,
    late_submissions: bool | None = None,
    metrics: str | None = None,
    atlas: str | None = None,
) -> dict[str, Any]:
    """The API fields the options set, over those of --from-json (limits: merged)."""
    fields: dict[str, Any] = {}
    if from_json is not None:
        loaded = json.loads(from_json.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise typer.BadParameter("--from-json must hold a JSON object")
        fields.update(loaded)
    if description is not None and description_file is not None:
        raise typer.BadParameter("give --description or --description-file, not both")
    if description_file is not None:
        description = description_file.read_text(encoding="utf-8")
    options: dict[str, Any] = {
        "title": title,
        "description": description,
        "metric": metric,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "daily_submission_limit": daily_limit,
        "max_team_size": team_size,
        "final_selection_count": final_selection,
        "submission_kinds": [k.strip() for k in kinds.split(",") if k.strip()] if kinds else None,
        "visibility": visibility,
        "allowed_email_domains": (
            [d.strip() for d in email_domains.split(",") if d.strip()]
            if email_domains is not None
            else None
        ),
        "join_requires_approval": approval,
        "atlas_visibility": atlas,
        "timezone": timezone,
        "late_submissions": late_submissions,
        "metrics": [m.strip() for m in metrics.split(",") if m.strip()] if metrics else None,
    }
    fields.update({k: v for k, v in options.items() if v is not None})
    limits = {
        "per_day": per_day,
        "per_window": _window_of(per_window),
        "total": total,
        "min_interval_seconds": min_interval_seconds,
    }
    chosen = {k: v for k, v in limits.items() if v is not None}
    if chosen:
        given = fields.get("limits")
        fields["limits"] = {**(given if isinstance(given, dict) else {}), **chosen}
    return fields


def _window_of(value: str | None) -> dict[str, int] | None:
    if value is None:
        return None
    count, minutes = (int(part) for part in value.split("/"))
    return {"count": count, "minutes": minutes}
