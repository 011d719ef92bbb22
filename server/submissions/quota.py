"""Submission limits: per day (in the challenge's timezone), per rolling window, in total,
and a cool-down between two submissions of a team.

Every limit counts the same rows: a team's submissions that are neither platform
failures nor cancelled (a file refused with 422 is never recorded). Callers take
:func:`lock_teams` first, so that concurrent submissions of one team serialize and
the counts cannot change before the new row is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from server.exceptions import LimitReached
from server.models import Challenge, Submission, SubmissionStatus, Team, utcnow
from server.submissions.schemas import LimitLeft

UTC_ZONE = ZoneInfo("UTC")
KINDS = ("per_day", "per_window", "total", "min_interval_seconds")


@dataclass(frozen=True)
class LimitUse:
    """Where a team stands under one limit."""

    kind: str  # one of KINDS
    limit: int  # submissions allowed (1 for the cool-down)
    used: int
    remaining: int
    # When one more becomes possible (None: now, or never for ``total``).
    next_at: datetime | None
    window_minutes: int | None = None
    interval_seconds: int | None = None

    @property
    def refuses(self) -> bool:
        return self.remaining <= 0


def zone(challenge: Challenge) -> ZoneInfo:
    return ZoneInfo(challenge.timezone or "UTC")


def day_start(now: datetime, tz: ZoneInfo = UTC_ZONE) -> datetime:
    """Midnight of ``now``'s day in ``tz``."""
    local = now.astimezone(tz)
    return datetime(local.year, local.month, local.day, tzinfo=tz)


def next_reset(now: datetime, tz: ZoneInfo = UTC_ZONE) -> datetime:
    """The next midnight in ``tz``, as UTC (a calendar day later, whatever the DST change)."""
    local = now.astimezone(tz)
    tomorrow = date(local.year, local.month, local.day) + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=tz).astimezone(UTC)


def _counted(team_ids: list[int]) -> list[ColumnElement[bool]]:
    return [
        Submission.team_id.in_(team_ids),
        Submission.platform_error.is_(False),
        Submission.status != SubmissionStatus.cancelled,
    ]


def _count(session: Session, team_ids: list[int], since: datetime | None = None) -> int:
    conditions = _counted(team_ids)
    if since is not None:
        conditions.append(Submission.created_at > since)
    return session.scalar(select(func.count(Submission.id)).where(*conditions)) or 0


def used_today(
    session: Session, challenge: Challenge, team_ids: list[int], now: datetime | None = None
) -> int:
    """Submissions that count against the daily limit today (the challenge's day)."""
    now = now or utcnow()
    conditions = _counted(team_ids)
    conditions.append(Submission.created_at >= day_start(now, zone(challenge)))
    return session.scalar(select(func.count(Submission.id)).where(*conditions)) or 0


def limits_of(challenge: Challenge) -> dict[str, Any]:
    """The challenge's limits as the API shows them (unset ones absent)."""
    return challenge.limits


def stored_limits(limits: dict[str, Any]) -> dict[str, Any]:
    """The API's ``limits`` as columns: per_day, and the others as JSON."""
    others = {k: v for k, v in limits.items() if k != "per_day" and v is not None}
    return {"daily_submission_limit": limits.get("per_day"), "submission_limits": others}


def usage(
    session: Session, challenge: Challenge, team_ids: list[int], now: datetime | None = None
) -> list[LimitUse]:
    """Where the team(s) stand under every limit the challenge sets, in KINDS order."""
    now = now or utcnow()
    limits = limits_of(challenge)
    uses: list[LimitUse] = []
    if "per_day" in limits:
        limit = int(limits["per_day"])
        used = used_today(session, challenge, team_ids, now)
        uses.append(
            LimitUse(
                "per_day",
                limit,
                used,
                max(0, limit - used),
                next_reset(now, zone(challenge)) if used >= limit else None,
            )
        )
    if "per_window" in limits:
        limit, minutes = int(limits["per_window"]["count"]), int(limits["per_window"]["minutes"])
        window = timedelta(minutes=minutes)
        recent = list(
            session.scalars(
                select(Submission.created_at)
                .where(*_counted(team_ids), Submission.created_at > now - window)
                .order_by(Submission.created_at.desc())
                .limit(limit)
            )
        )
        used = _count(session, team_ids, now - window)
        # The window frees a place when the limit-th most recent submission leaves it.
        next_at = recent[limit - 1] + window if len(recent) >= limit else None
        uses.append(
            LimitUse(
                "per_window", limit, used, max(0, limit - used), next_at, window_minutes=minutes
            )
        )
    if "total" in limits:
        limit = int(limits["total"])
        used = _count(session, team_ids)
        uses.append(LimitUse("total", limit, used, max(0, limit - used), None))
    if "min_interval_seconds" in limits:
        seconds = int(limits["min_interval_seconds"])
        last = session.scalar(
            select(Submission.created_at)
            .where(*_counted(team_ids))
            .order_by(Submission.created_at.desc())
            .limit(1)
        )
        next_at = last + timedelta(seconds=seconds) if last is not None else None
        waiting = next_at is not None and next_at > now
        uses.append(
            LimitUse(
                "min_interval_seconds",
                1,
                int(waiting),
                0 if waiting else 1,
                next_at if waiting else None,
                interval_seconds=seconds,
            )
        )
    return uses


def binding(uses: list[LimitUse]) -> LimitUse | None:
    """The refusing limit that allows the next submission last (``total``: never)."""
    refusing = [u for u in uses if u.refuses]
    if not refusing:
        return None
    never = [u for u in refusing if u.next_at is None]
    if never:
        return never[0]
    return max(refusing, key=lambda u: u.next_at or datetime.min)


def _clock(moment: datetime, now: datetime, tz: ZoneInfo) -> str:
    """A time of day in the challenge's timezone, with the date when it is not today."""
    local, today = moment.astimezone(tz), now.astimezone(tz)
    if local.microsecond:
        local = local.replace(microsecond=0) + timedelta(seconds=1)
    shown = local.strftime("%H:%M" if local.second == 0 else "%H:%M:%S") + f" {tz.key}"
    if local.date() != today.date():
        shown = f"{shown} on {local.date().isoformat()}"
    return shown


def describe(use: LimitUse, challenge: Challenge, now: datetime) -> str:
    """In words, what the limit says (for a refusal)."""
    tz = zone(challenge)
    plural = "" if use.used == 1 else "s"
    if use.kind == "per_day":
        what = (
            f"daily limit reached: {use.used} submission{plural} today, of {use.limit} "
            f"per day (a day starts at midnight {tz.key})"
        )
    elif use.kind == "per_window":
        what = (
            f"{use.used} submission{plural} in the last {use.window_minutes} minutes, "
            f"of {use.limit} allowed"
        )
    elif use.kind == "total":
        return (
            f"total limit reached: your team has made all {use.limit} submissions "
            "this challenge allows"
        )
    else:
        what = f"wait {use.interval_seconds} seconds between two submissions"
    assert use.next_at is not None
    return f"{what}; the next one is possible at {_clock(use.next_at, now, tz)}"


def enforce(
    session: Session, challenge: Challenge, team_ids: list[int], now: datetime
) -> list[LimitUse]:
    """Raise LimitReached when a limit refuses one more submission; else the usage."""
    uses = usage(session, challenge, team_ids, now)
    binds = binding(uses)
    if binds is not None:
        retry_after = (binds.next_at - now).total_seconds() if binds.next_at else None
        raise LimitReached(describe(binds, challenge, now), retry_after)
    return uses


def in_words(challenge: Challenge) -> list[str]:
    """The limits in plain words, for the challenge page."""
    limits, tz = limits_of(challenge), zone(challenge).key
    words = []
    if "per_day" in limits:
        words.append(
            f"{limits['per_day']} submissions per team per day; a new day starts at "
            f"midnight, {tz} time"
        )
    if "per_window" in limits:
        window = limits["per_window"]
        words.append(
            f"at most {window['count']} submissions in any {window['minutes']} minutes "
            "(a rolling window: a place frees up as the oldest one leaves it)"
        )
    if "total" in limits:
        words.append(f"{limits['total']} submissions per team over the whole challenge")
    if "min_interval_seconds" in limits:
        words.append(
            f"at least {limits['min_interval_seconds']} seconds between two submissions of a team"
        )
    return words


def label(use: LimitUse, challenge: Challenge) -> str:
    if use.kind == "per_day":
        return f"per day (from midnight {zone(challenge).key})"
    if use.kind == "per_window":
        return f"per {use.window_minutes} minutes (rolling)"
    if use.kind == "total":
        return "in total"
    return f"one every {use.interval_seconds} seconds"


def left(uses: list[LimitUse], challenge: Challenge) -> list[LimitLeft]:
    """The usage as the API shows it."""
    return [
        LimitLeft(
            kind=u.kind,
            label=label(u, challenge),
            limit=u.limit,
            used=u.used,
            remaining=u.remaining,
            next_at=u.next_at,
        )
        for u in uses
    ]


def remaining_today(uses: list[LimitUse]) -> int | None:
    return next((u.remaining for u in uses if u.kind == "per_day"), None)


def lock_teams(session: Session, team_ids: list[int]) -> None:
    """Serialize concurrent quota and membership changes on these teams.

    An UPDATE takes PostgreSQL's row lock and SQLite's write lock, so whatever the
    transaction counts afterwards cannot change under it until it commits.
    """
    session.execute(
        update(Team)
        .where(Team.id.in_(sorted(team_ids)))
        .values(lock_version=Team.lock_version + 1)
        .execution_options(synchronize_session=False)
    )
