from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from server.insight.schemas import Webhooks
from server.leaderboard.tracks import Track, Tracks
from server.scoring.metrics import METRICS, get_metric

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
DOMAIN_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$"
VisibilityName = Literal["public", "unlisted", "private"]
AtlasVisibilityName = Literal["live", "after_finalize"]
EmailDomains = Annotated[
    list[Annotated[str, Field(pattern=DOMAIN_PATTERN, max_length=253)]],
    Field(
        max_length=50,
        description="Private challenges: accounts whose email (set by an organizer) is in "
        "one of these domains may enter, e.g. ['ens.fr']",
    ),
]
SubmissionKind = Literal["csv", "checkpoint"]
CheckpointFormat = Literal["safetensors", "torchscript", "export"]


def _as_utc(value: datetime | None) -> datetime | None:
    # A naive datetime is read as UTC: deadlines are always UTC on the server.
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _known_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone '{value}'; use an IANA name such as 'Europe/Paris' or 'UTC'"
        ) from None
    return value


class Window(BaseModel):
    """At most ``count`` submissions in any rolling ``minutes``."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=1, le=10_000)
    minutes: int = Field(ge=1, le=43_200, description="Length of the rolling window")


class Limits(BaseModel):
    """Submission limits per team; every one that is set must allow a submission."""

    model_config = ConfigDict(extra="forbid")

    per_day: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Per day; a day starts at midnight in the challenge's timezone "
        "(daily_submission_limit is an alias)",
    )
    per_window: Window | None = Field(default=None, description="Rolling window")
    total: int | None = Field(default=None, ge=1, le=100_000, description="Over the challenge")
    min_interval_seconds: int | None = Field(
        default=None, ge=1, le=86_400, description="Cool-down between two submissions of a team"
    )


def _merge_daily_alias(
    fields_set: set[str], daily: int | None, limits: Limits | None
) -> tuple[int | None, Limits | None]:
    """Reconcile ``daily_submission_limit`` with ``limits.per_day`` (same limit, two names)."""
    if limits is None:
        return daily, None
    if "daily_submission_limit" in fields_set and daily is not None:
        if limits.per_day is not None and limits.per_day != daily:
            raise ValueError(
                "daily_submission_limit and limits.per_day are the same limit; "
                "give one of them, or the same value"
            )
        limits = limits.model_copy(update={"per_day": daily})
    return limits.per_day, limits


# The longest a checkpoint may run (loading and inference); task limits derive from it.
MAX_CHECKPOINT_SECONDS = 3600


MAX_METRICS = 5


def _known_metric(value: str) -> str:
    if value not in METRICS:
        raise ValueError(f"unknown metric '{value}'; known: {', '.join(sorted(METRICS))}")
    return value


def compatible_metrics(names: list[str]) -> list[str]:
    """Known, distinct, and scoring the same kind of predictions as the first one."""
    for name in names:
        _known_metric(name)
    if len(set(names)) != len(names):
        raise ValueError("metrics must be distinct")
    first = get_metric(names[0])
    for name in names[1:]:
        if get_metric(name).prediction_format != first.prediction_format:
            raise ValueError(
                f"'{name}' scores {get_metric(name).prediction_format} predictions but "
                f"'{names[0]}' scores {first.prediction_format} ones; every metric of a "
                "challenge is computed on the same predictions file"
            )
    return names


def _ranking_metric(
    metric: str | None, metrics: list[str] | None
) -> tuple[str | None, list[str] | None]:
    """``metric`` is ``metrics[0]`` when both are given."""
    if not metrics:
        return metric, None
    if metric is not None and metric != metrics[0]:
        raise ValueError(
            f"metric '{metric}' must be the first of metrics (the one that ranks), "
            f"not '{metrics[0]}'; give one of them"
        )
    return metrics[0], metrics


def stored_metrics(changes: dict[str, Any], extra: list[str]) -> dict[str, Any]:
    """The columns a PATCH's ``metrics`` or ``metric`` sets (metric, extra_metrics)."""
    if changes.get("metrics"):
        metrics = changes.pop("metrics")
        return {"metric": metrics[0], "extra_metrics": metrics[1:]}
    changes.pop("metrics", None)
    if "metric" not in changes:
        return {}
    kept = [m for m in extra if m != changes["metric"]]
    return {"extra_metrics": compatible_metrics([changes["metric"], *kept])[1:]}


def _lower_domains(value: object) -> object:
    if isinstance(value, list):
        return [d.strip().lower() if isinstance(d, str) else d for d in value]
    return value


class CheckpointSpec(BaseModel):
    """How checkpoint submissions are evaluated on the hidden inputs."""

    input_shape: list[Annotated[int, Field(ge=1, le=4096)]] = Field(
        default=[1, 28, 28], min_length=1, max_length=4, description="Shape of one input row"
    )
    input_dtype: Literal["float32", "uint8"] = "float32"
    formats: list[CheckpointFormat] = Field(
        default=["safetensors"],
        min_length=1,
        description="Allowed formats; programs (torchscript, export) run only in the sandbox",
    )
    batch_size: int = Field(default=256, ge=1, le=65536)
    time_limit_seconds: int = Field(default=60, ge=1, le=MAX_CHECKPOINT_SECONDS)
    memory_limit_mb: int = Field(default=4096, ge=256, le=262144)
    show_program_errors: bool = Field(
        default=False,
        description="Show teams what a failing TorchScript/torch.export program said. "
        "Off by default: a program could put the hidden inputs in its error text; "
        "turn it on only when the hidden inputs are not secret (organizers always see it)",
    )


class ChallengeBase(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=100_000, description="Markdown")
    metric: str | None = Field(
        default=None, examples=["accuracy"], description="The metric that ranks (or metrics[0])"
    )
    metrics: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_METRICS,
        examples=[["accuracy", "f1_macro"]],
        description="Several metrics: the first ranks, the others are computed on the same "
        "rows, shown beside it and break ties in order",
    )
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    daily_submission_limit: int | None = Field(
        default=5, ge=1, le=1000, description="Alias of limits.per_day"
    )
    limits: Limits | None = Field(
        default=None,
        description="Submission limits; when given, a per_day left out means no daily limit",
    )
    timezone: str = Field(
        default="UTC", max_length=64, description="IANA name; the day of per_day starts there"
    )
    late_submissions: bool = Field(
        default=False,
        description="Score submissions made after closes_at (never ranked; the team sees them)",
    )
    max_team_size: int = Field(default=4, ge=1, le=50)
    final_selection_count: int = Field(default=2, ge=1, le=20)
    submission_kinds: list[SubmissionKind] = Field(default=["csv"], min_length=1)
    checkpoint_spec: CheckpointSpec = Field(default_factory=CheckpointSpec)
    visibility: VisibilityName = Field(
        default="public",
        description="public: listed; unlisted: reachable by its URL only; private: only "
        "admins, hosts and invited users see it (404 for everyone else)",
    )
    allowed_email_domains: EmailDomains = Field(default_factory=list)
    join_requires_approval: bool = Field(
        default=False, description="Joining makes a request that a host approves or rejects"
    )
    tracks: Tracks = Field(default_factory=list)
    atlas_visibility: AtlasVisibilityName = Field(
        default="live",
        description="The class atlas for participants: live, or only after finalize (hosts "
        "always see it)",
    )

    _utc = field_validator("opens_at", "closes_at")(_as_utc)
    _tz = field_validator("timezone")(_known_timezone)
    _domains = field_validator("allowed_email_domains", mode="before")(_lower_domains)

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        return None if value is None else _known_metric(value)

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else compatible_metrics(value)

    @model_validator(mode="after")
    def _window(self) -> ChallengeBase:
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        self.metric, self.metrics = _ranking_metric(self.metric, self.metrics)
        if self.metric is None:
            raise ValueError("give the metric that ranks: metric, or metrics (the first ranks)")
        self.daily_submission_limit, limits = _merge_daily_alias(
            self.model_fields_set, self.daily_submission_limit, self.limits
        )
        self.limits = limits or Limits(per_day=self.daily_submission_limit)
        return self


class ChallengeCreate(ChallengeBase):
    slug: str = Field(pattern=SLUG_PATTERN, examples=["mnist"])
    webhooks: Webhooks = Field(
        default_factory=Webhooks, description="Discord/Slack notifications (organizers only)"
    )


class ChallengeUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=100_000)
    metric: str | None = Field(
        default=None, description="The metric that ranks; the other metrics are kept"
    )
    metrics: list[str] | None = Field(
        default=None, min_length=1, max_length=MAX_METRICS, description="Replaces every metric"
    )
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    daily_submission_limit: int | None = Field(
        default=None, ge=1, le=1000, description="Alias of limits.per_day"
    )
    limits: Limits | None = Field(
        default=None, description="Replaces every limit; one left out is no longer set"
    )
    timezone: str | None = Field(default=None, max_length=64)
    late_submissions: bool | None = None
    max_team_size: int | None = Field(default=None, ge=1, le=50)
    final_selection_count: int | None = Field(default=None, ge=1, le=20)
    submission_kinds: list[SubmissionKind] | None = Field(default=None, min_length=1)
    checkpoint_spec: CheckpointSpec | None = None
    visibility: VisibilityName | None = None
    allowed_email_domains: EmailDomains | None = None
    join_requires_approval: bool | None = None
    tracks: Tracks | None = Field(default=None, description="Replaces every track")
    atlas_visibility: AtlasVisibilityName | None = None
    webhooks: Webhooks | None = Field(
        default=None,
        description="Discord/Slack notifications: a URL left out is kept, a null removes it",
    )
    state: Literal["draft", "open", "closed"] | None = Field(
        default=None, description="'open' opens (needs a solution), 'closed' closes early"
    )

    _utc = field_validator("opens_at", "closes_at")(_as_utc)
    _domains = field_validator("allowed_email_domains", mode="before")(_lower_domains)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else _known_timezone(value)

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        return None if value is None else _known_metric(value)

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else compatible_metrics(value)

    @model_validator(mode="after")
    def _daily_alias(self) -> ChallengeUpdate:
        if self.metrics is not None:
            _ranking_metric(self.metric, self.metrics)
        if self.limits is not None:
            # The service takes per_day from limits when both are given.
            _, limits = _merge_daily_alias(
                self.model_fields_set, self.daily_submission_limit, self.limits
            )
            object.__setattr__(self, "limits", limits)
        return self

    @model_validator(mode="after")
    def _null_only_clears_dates(self) -> ChallengeUpdate:
        # An explicit null would store NULL in a required column (and break every later
        # read of the challenge); only the dates may be cleared.
        nulls = sorted(
            name
            for name in self.model_fields_set - {"opens_at", "closes_at"}
            if getattr(self, name) is None
        )
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null; leave a field out to keep it")
        return self


class ChallengeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    title: str
    description: str
    metric: str
    metrics: list[str] = Field(description="metric first, then the tie-breakers in order")
    greater_is_better: bool
    opens_at: datetime | None
    closes_at: datetime | None
    daily_submission_limit: int | None = Field(description="Alias of limits.per_day")
    limits: Limits
    timezone: str
    late_submissions: bool
    max_team_size: int
    final_selection_count: int
    submission_kinds: list[str]
    checkpoint_spec: CheckpointSpec
    visibility: str
    allowed_email_domains: list[str]
    join_requires_approval: bool
    tracks: list[Track]
    atlas_visibility: str
    state: str
    accepting_submissions: bool
    has_solution: bool
    has_hidden_inputs: bool
    teams_count: int
    submissions_count: int
    created_at: datetime
    finalized_at: datetime | None


class FileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    size: int
    sha256: str
    created_at: datetime


class SolutionRead(BaseModel):
    sha256: str
    rows: int
    public_rows: int
    private_rows: int
    target: str


class HiddenInputsRead(BaseModel):
    sha256: str
    rows: int
    shape: list[int]
    dtype: str


class RescoreRead(BaseModel):
    rescored: int
