"""JSON shapes of the worker API (``/api/v1/worker``) and the organizers' queue view."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from server.models.base import RowId

# Token shape: "<worker name>:<uuid hex>" (see server.queue.state.claim).
ATTEMPT_MAX_LENGTH = 128
MAX_BOOTSTRAP_RESAMPLES = 10_000


class ClaimCreate(BaseModel):
    worker: str = Field(
        default="worker", min_length=1, max_length=90, description="Who runs the attempt"
    )


class JobRead(BaseModel):
    """A claimed job: everything a worker needs, by sha256."""

    submission_id: int
    attempt: str = Field(description="Attempt token: send it with heartbeats and the result")
    kind: str
    challenge: str
    metric: str
    extra_metrics: list[str] = Field(
        default_factory=list, description="Computed on the same predictions, sent back too"
    )
    file_sha256: str
    file_name: str = Field(description="As uploaded (a checkpoint's format hint)")
    config_sha256: str | None
    solution_sha256: str | None
    hidden_inputs_sha256: str | None
    checkpoint_spec: dict[str, Any]
    lease_seconds: int
    lease_expires_at: datetime | None
    time_limit_seconds: int


class AttemptRef(BaseModel):
    attempt: str = Field(min_length=1, max_length=ATTEMPT_MAX_LENGTH)


class HeartbeatRead(BaseModel):
    lease_expires_at: datetime


class CheckpointMetrics(BaseModel):
    parameter_count: int | None = Field(default=None, ge=0)
    inference_seconds_per_1k: float | None = Field(default=None, ge=0)
    peak_memory_mb: float | None = Field(default=None, ge=0)


class ResultCreate(AttemptRef):
    """Scores, or a participant-visible error, or a platform error."""

    public_score: float | None = None
    private_score: float | None = None
    error: str | None = Field(default=None, max_length=4000)
    error_detail: str | None = Field(
        default=None,
        max_length=4000,
        description="What a checkpoint program said (organizers only)",
    )
    platform_error: bool = False
    metrics: CheckpointMetrics = Field(default_factory=CheckpointMetrics)
    extra_scores: dict[str, list[float]] = Field(
        default_factory=dict,
        max_length=10,
        description="The job's extra_metrics: name -> [public, private]",
    )
    public_bootstrap: list[float | None] | None = Field(
        default=None,
        max_length=MAX_BOOTSTRAP_RESAMPLES,
        description="The public score on each bootstrap resample "
        "(server.scoring.bootstrap; null where undefined)",
    )

    @model_validator(mode="after")
    def _one_outcome(self) -> ResultCreate:
        has_scores = self.public_score is not None or self.private_score is not None
        if has_scores and (self.public_score is None or self.private_score is None):
            raise ValueError("send both public_score and private_score")
        if has_scores and (self.error is not None or self.platform_error):
            raise ValueError("a result has scores or an error, not both")
        if not has_scores and self.error is None and not self.platform_error:
            raise ValueError("a result needs scores, an error or platform_error")
        return self


class ResultRead(BaseModel):
    recorded: bool = Field(description="False when this attempt's result was already recorded")
    status: str


class QueueJob(BaseModel):
    id: int
    challenge: str
    team: str
    kind: str
    status: str
    position: int | None = Field(default=None, description="1-based place while queued")
    attempts: int
    worker: str | None = Field(default=None, description="Who runs it (while running)")
    created_at: datetime
    started_at: datetime | None
    lease_expires_at: datetime | None


class QueueRead(BaseModel):
    transport: str = Field(description="embedded or celery")
    counts: dict[str, int] = Field(description="Submissions by status")
    oldest_queued_at: datetime | None
    oldest_queued_age_seconds: float | None
    lease_seconds: int
    max_attempts: int
    broker_queues: dict[str, int] | None = Field(
        default=None, description="Messages waiting per Celery queue (Redis brokers)"
    )
    jobs: list[QueueJob] = Field(description="Queued and running submissions, oldest first")


class RequeueCreate(BaseModel):
    submission_ids: list[RowId] | None = Field(
        default=None,
        max_length=5000,
        description="Platform failures to queue again; omitted: every one of the challenge",
    )


class RequeueRead(BaseModel):
    requeued: list[int] = Field(description="The submissions queued again")
