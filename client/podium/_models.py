"""Typed views of the server's JSON.

Each model keeps the server's object as `raw` (fields may be added by the
server at any time; `raw` still has them) and parses the documented fields.
Timestamps become timezone-aware `datetime` objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeAlias

__all__ = [
    "Challenge",
    "ChallengeFile",
    "DownloadResult",
    "Leaderboard",
    "LeaderboardEntry",
    "SolutionInfo",
    "Submission",
    "SubmissionId",
    "Team",
    "User",
]

SubmissionId: TypeAlias = int | str
"""Submission ids are integers on the reference server; strings are accepted."""

FINISHED_STATUSES = frozenset({"scored", "failed", "cancelled"})


def _dt(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any, default: int | None = None) -> int | None:
    if value is None or isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _str(value: Any, default: str = "") -> str:
    return default if value is None else str(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _raw(data: Mapping[str, Any]) -> dict[str, Any]:
    return dict(data)


@dataclass(frozen=True)
class User:
    """An account: `role` is ``organizer`` or ``participant``."""

    id: int | str
    username: str
    role: str
    created_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> User:
        return cls(
            id=data.get("id", ""),
            username=_str(data.get("username")),
            role=_str(data.get("role")),
            created_at=_dt(data.get("created_at")),
            raw=_raw(data),
        )


@dataclass(frozen=True)
class Challenge:
    """A competition. `state` is draft, open, closed or finalized."""

    slug: str
    title: str
    description: str = ""
    metric: str = ""
    state: str = ""
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    daily_submission_limit: int | None = None
    max_team_size: int | None = None
    final_selection_count: int | None = None
    submission_kinds: list[str] = field(default_factory=list)
    teams_count: int | None = None
    submissions_count: int | None = None
    greater_is_better: bool | None = None
    accepting_submissions: bool | None = None
    limits: dict[str, Any] = field(default_factory=dict)  # per_day, per_window, total, ...
    timezone: str | None = None
    late_submissions: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Challenge:
        kinds = data.get("submission_kinds") or []
        if isinstance(kinds, str):
            kinds = [k.strip() for k in kinds.split(",") if k.strip()]
        return cls(
            slug=_str(data.get("slug")),
            title=_str(data.get("title")),
            description=_str(data.get("description")),
            metric=_str(data.get("metric")),
            state=_str(data.get("state")),
            opens_at=_dt(data.get("opens_at")),
            closes_at=_dt(data.get("closes_at")),
            daily_submission_limit=_int(data.get("daily_submission_limit")),
            max_team_size=_int(data.get("max_team_size")),
            final_selection_count=_int(data.get("final_selection_count")),
            submission_kinds=[str(k) for k in kinds],
            teams_count=_int(data.get("teams_count")),
            submissions_count=_int(data.get("submissions_count")),
            greater_is_better=_bool(data.get("greater_is_better")),
            accepting_submissions=_bool(data.get("accepting_submissions")),
            limits=dict(data["limits"]) if isinstance(data.get("limits"), Mapping) else {},
            timezone=_opt_str(data.get("timezone")),
            late_submissions=_bool(data.get("late_submissions")),
            raw=_raw(data),
        )


@dataclass(frozen=True)
class ChallengeFile:
    """A public file of a challenge, content-addressed by `sha256`."""

    name: str
    size: int
    sha256: str
    created_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChallengeFile:
        return cls(
            name=_str(data.get("name")),
            size=_int(data.get("size"), 0) or 0,
            sha256=_str(data.get("sha256")).lower(),
            created_at=_dt(data.get("created_at")),
            raw=_raw(data),
        )


@dataclass(frozen=True)
class LimitLeft:
    """A team under one limit (`kind`: per_day, per_window, total, min_interval_seconds)."""

    kind: str
    label: str
    limit: int | None = None
    remaining: int | None = None
    next_at: datetime | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LimitLeft:
        return cls(
            kind=_str(data.get("kind")),
            label=_str(data.get("label")),
            limit=_int(data.get("limit")),
            remaining=_int(data.get("remaining")),
            next_at=_dt(data.get("next_at")),
        )


def _limits_left(value: Any) -> list[LimitLeft] | None:
    if isinstance(value, list):
        return [LimitLeft.from_dict(i) for i in value if isinstance(i, Mapping)]
    return None


@dataclass(frozen=True)
class Team:
    """The caller's team in one challenge; `members` are usernames."""

    id: int | str
    name: str
    members: list[str] = field(default_factory=list)
    submissions_today: int | None = None
    daily_submission_limit: int | None = None
    remaining_today: int | None = None
    quota_resets_at: datetime | None = None
    timezone: str | None = None
    limits_left: list[LimitLeft] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Team:
        members: list[str] = []
        for member in data.get("members") or []:
            if isinstance(member, Mapping):
                members.append(_str(member.get("username") or member.get("name")))
            else:
                members.append(str(member))
        return cls(
            id=data.get("id", ""),
            name=_str(data.get("name")),
            members=members,
            submissions_today=_int(data.get("submissions_today")),
            daily_submission_limit=_int(data.get("daily_submission_limit")),
            remaining_today=_int(data.get("remaining_today")),
            quota_resets_at=_dt(data.get("quota_resets_at")),
            timezone=_opt_str(data.get("timezone")),
            limits_left=_limits_left(data.get("limits_left")),
            raw=_raw(data),
        )


@dataclass(frozen=True)
class Submission:
    """One submission. `status`: queued, running, scored, failed or cancelled.

    `private_score` stays None until the caller may see it (after
    finalization, or for organizers). `error` is the participant-visible
    reason of a failure.
    """

    id: int | str
    status: str
    challenge: str = ""
    team: str = ""
    kind: str = "csv"
    message: str | None = None
    public_score: float | None = None
    private_score: float | None = None
    error: str | None = None
    attempts: int | None = None
    created_at: datetime | None = None
    scored_at: datetime | None = None
    selected_for_final: bool = False
    remaining_today: int | None = None
    file_name: str | None = None
    metadata: dict[str, Any] | None = field(default=None, repr=False)
    late: bool = False
    limits_left: list[LimitLeft] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        """True once the status is final: scored, failed or cancelled."""
        return self.status in FINISHED_STATUSES

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Submission:
        challenge = data.get("challenge")
        if isinstance(challenge, Mapping):
            challenge = challenge.get("slug")
        team = data.get("team")
        if isinstance(team, Mapping):
            team = team.get("name")
        return cls(
            id=data.get("id", ""),
            status=_str(data.get("status")),
            challenge=_str(challenge),
            team=_str(team),
            kind=_str(data.get("kind"), "csv"),
            message=_opt_str(data.get("message")) or None,
            public_score=_float(data.get("public_score")),
            private_score=_float(data.get("private_score")),
            error=_opt_str(data.get("error")),
            attempts=_int(data.get("attempts")),
            created_at=_dt(data.get("created_at")),
            scored_at=_dt(data.get("scored_at")),
            selected_for_final=bool(data.get("selected_for_final")),
            remaining_today=_int(data.get("remaining_today")),
            file_name=_opt_str(data.get("file_name")),
            metadata=dict(meta) if isinstance(meta := data.get("metadata"), Mapping) else None,
            late=bool(data.get("late")),
            limits_left=_limits_left(data.get("limits_left")),
            raw=_raw(data),
        )


@dataclass(frozen=True)
class LeaderboardEntry:
    """One team's line. `public_rank` and `move` are set on the private board."""

    rank: int | None
    team: str
    score: float | None
    submissions: int | None = None
    last_submission_at: datetime | None = None
    public_rank: int | None = None
    move: int | None = None
    extra_scores: dict[str, float | None] = field(default_factory=dict)  # the tie-breakers
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeaderboardEntry:
        extra = data.get("extra_scores")
        team = data.get("team")
        if isinstance(team, Mapping):
            team = team.get("name")
        return cls(
            rank=_int(data.get("rank")),
            team=_str(team),
            score=_float(data.get("score")),
            submissions=_int(data.get("submissions")),
            last_submission_at=_dt(data.get("last_submission_at")),
            public_rank=_int(data.get("public_rank")),
            move=_int(data.get("move")),
            extra_scores={str(k): _float(v) for k, v in extra.items()}
            if isinstance(extra, Mapping)
            else {},
            raw=_raw(data),
        )


@dataclass(frozen=True)
class Leaderboard:
    """A leaderboard, `board` being ``public`` or ``private``."""

    board: str
    entries: list[LeaderboardEntry] = field(default_factory=list)
    challenge: str = ""
    metric: str = ""
    greater_is_better: bool | None = None
    metrics: list[str] = field(default_factory=list)  # metric first, then the tie-breakers
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def find(self, team: str) -> LeaderboardEntry | None:
        """Return the entry of the team named `team`, if it is on the board."""
        return next((e for e in self.entries if e.team == team), None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Leaderboard:
        return cls(
            board=_str(data.get("board"), "public"),
            entries=[LeaderboardEntry.from_dict(e) for e in data.get("entries") or []],
            challenge=_str(data.get("challenge")),
            metric=_str(data.get("metric")),
            greater_is_better=_bool(data.get("greater_is_better")),
            metrics=[str(m) for m in data.get("metrics") or []],
            raw=_raw(data),
        )


@dataclass(frozen=True)
class SolutionInfo:
    """What the server understood of an uploaded hidden solution."""

    sha256: str
    rows: int | None = None
    public_rows: int | None = None
    private_rows: int | None = None
    target: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SolutionInfo:
        return cls(
            sha256=_str(data.get("sha256")),
            rows=_int(data.get("rows")),
            public_rows=_int(data.get("public_rows")),
            private_rows=_int(data.get("private_rows")),
            target=_opt_str(data.get("target")),
            raw=_raw(data),
        )


@dataclass(frozen=True)
class DownloadResult:
    """One file handled by `Client.download`.

    `status` is ``downloaded``, ``resumed`` (continued a ``.part`` file) or
    ``skipped`` (the local copy already had the right sha256).
    """

    name: str
    path: Path
    size: int
    sha256: str
    status: str
