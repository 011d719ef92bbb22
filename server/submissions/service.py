"""Submissions: validate, enforce the daily limit, record, hand to the scorer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.challenges import access
from server.challenges.service import is_accepting
from server.checkpoints.formats import read_config
from server.checkpoints.upload import validate_checkpoint_upload
from server.config import Settings
from server.exceptions import Conflict, Forbidden, Invalid, NotFound
from server.leaderboard.bump import bump_board
from server.models import (
    UNFINISHED,
    Challenge,
    ChallengeState,
    Submission,
    SubmissionStatus,
    User,
    utcnow,
)
from server.queue.dispatch import dispatch
from server.queue.embedded import InlineJob, inline_claim, score_inline
from server.queue.state import Attempt, new_token, running_columns
from server.scoring.predictions import ParsedPredictions, PredictionError, parse_predictions
from server.scoring.solution import load_solution
from server.storage import BlobStore, StagedBlob, StoredBlob
from server.submissions import quota
from server.submissions.metadata import with_architecture
from server.submissions.quota import lock_teams
from server.submissions.schemas import LimitLeft, SubmissionRead
from server.teams.service import join_challenge, team_of

# What a baseline row's submission (it has no team) shows as its team, to hosts.
BASELINE_TEAM = "(baseline)"


def may_see_private(challenge: Challenge, manages: bool) -> bool:
    """Private scores leave the server only for the challenge's managers, or after finalization."""
    return challenge.state == ChallengeState.finalized or manages


def to_read(
    submission: Submission,
    challenge: Challenge,
    manages: bool,
    remaining_today: int | None = None,
    queue_position: int | None = None,
    limits_left: list[LimitLeft] | None = None,
) -> SubmissionRead:
    return SubmissionRead(
        id=submission.id,
        challenge=challenge.slug,
        team=submission.team.name if submission.team is not None else BASELINE_TEAM,
        user=submission.user.username if submission.user else None,
        kind=submission.kind,
        file_name=submission.file_name,
        file_size=submission.file_size,
        message=submission.message,
        status=submission.status,
        public_score=submission.public_score,
        public_ci_halfwidth=submission.public_ci_halfwidth,
        private_score=submission.private_score if may_see_private(challenge, manages) else None,
        public_scores=_per_metric(submission, challenge, "public"),
        private_scores=_per_metric(submission, challenge, "private")
        if may_see_private(challenge, manages)
        else None,
        error=submission.error,
        error_detail=submission.error_detail if manages else None,
        attempts=submission.attempts,
        created_at=submission.created_at,
        started_at=submission.started_at,
        scored_at=submission.scored_at,
        selected_for_final=submission.selected_for_final,
        late=submission.late,
        parameter_count=submission.parameter_count,
        inference_seconds_per_1k=submission.inference_seconds_per_1k,
        peak_memory_mb=submission.peak_memory_mb,
        metadata=submission.run_metadata,
        remaining_today=remaining_today,
        limits_left=limits_left,
        queue_position=queue_position,
    )


def _per_metric(
    submission: Submission, challenge: Challenge, part: str
) -> dict[str, float | None] | None:
    """Every metric of the challenge on ``part`` (the ranking one first); None unscored."""
    first = submission.public_score if part == "public" else submission.private_score
    if first is None:
        return None
    values = (submission.extra_scores or {}).get(part) or {}
    return {challenge.metric: first} | {m: values.get(m) for m in challenge.extra_metrics or []}


def accepts_late(challenge: Challenge, now: datetime) -> bool:
    """After the deadline, a challenge with late_submissions still scores them (unranked)."""
    if not challenge.late_submissions:
        return False
    if challenge.state in (ChallengeState.closed, ChallengeState.finalized):
        return True
    return (
        challenge.state == ChallengeState.open
        and challenge.closes_at is not None
        and now >= challenge.closes_at
    )


def check_window(challenge: Challenge, now: datetime) -> bool:
    """Deadlines by the server clock, UTC. True: the submission is late (scored, unranked)."""
    if is_accepting(challenge, now):
        return False
    if accepts_late(challenge, now):
        return True
    if challenge.state == ChallengeState.open and challenge.opens_at and now < challenge.opens_at:
        raise Forbidden(
            f"the challenge opens at {challenge.opens_at.isoformat()} (server time, UTC)"
        )
    if challenge.closes_at is not None and now >= challenge.closes_at:
        raise Forbidden(
            f"the challenge closed at {challenge.closes_at.isoformat()} (server time, UTC); "
            "no more submissions"
        )
    raise Forbidden(f"the challenge is {challenge.state}; it does not accept submissions")


def validate_csv(challenge: Challenge, blob: StoredBlob, store: BlobStore) -> ParsedPredictions:
    """Reject a bad predictions file with 422 before it is queued (no quota used);
    returns the file parsed (with the scoring core's reader), for the scorer."""
    assert challenge.solution_sha256 is not None
    solution = load_solution(
        store.path_for(challenge.solution_sha256), challenge.metric, challenge.solution_sha256
    )
    try:
        return parse_predictions(blob.path, solution, challenge.metric)
    except PredictionError as error:
        raise Invalid(f"predictions rejected: {error}") from None


@dataclass(frozen=True)
class Accepted:
    """A submission just recorded, where its team stands now, and (CSV) its parsed
    file, so that scoring does not read it again; ``job``: the submission was
    claimed as it was created (an embedded CSV): :meth:`send` scores it."""

    submission: Submission
    uses: list[quota.LimitUse]
    parsed: ParsedPredictions | None = field(default=None, repr=False)
    job: InlineJob | None = field(default=None, repr=False)

    def parsed_by_id(self) -> dict[int, ParsedPredictions]:
        """``dispatch``'s ``parsed``: the CSV's parse under its submission's id (once flushed)."""
        return {} if self.parsed is None else {self.submission.id: self.parsed}

    def send(self, settings: Settings) -> None:
        """Hand the submission to its scorer; call only after the commit. A claimed
        one is scored now, in this thread; any other is dispatched."""
        if self.job is not None:
            score_inline(self.job, settings)
        else:
            dispatch([self.submission.id], settings=settings, parsed=self.parsed_by_id())


def create_submission(
    session: Session,
    challenge: Challenge,
    user: User,
    upload: StagedBlob,
    file_name: str,
    message: str,
    kind: str,
    config: BinaryIO | None,
    store: BlobStore,
    metadata: dict[str, Any] | None = None,
    settings: Settings | None = None,
) -> Accepted:
    """Validate and record a submission; returns it with where the team stands now.

    ``upload`` joins the blob store only once accepted (the caller discards it
    otherwise), so a refused file leaves nothing behind. ``metadata`` is the
    validated fact sheet; a checkpoint's model config fills its architecture keys.
    ``settings``: the server's, when the caller sends the submission to its scorer
    with :meth:`Accepted.send` (an embedded CSV is then claimed in this transaction);
    None leaves it queued for ``dispatch``.
    """
    now = utcnow()
    if kind not in challenge.submission_kinds:
        raise Invalid(
            f"this challenge accepts {', '.join(challenge.submission_kinds)} submissions, "
            f"not '{kind}'"
        )
    late = check_window(challenge, now)
    blob: StoredBlob = upload
    config_sha256: str | None = None
    parsed = None
    if kind == "csv":
        parsed = validate_csv(challenge, blob, store)
    else:
        config_sha256 = validate_checkpoint_upload(challenge, blob, config, file_name, store)
        if config_sha256 is not None:
            model_json = read_config(store.path_for(config_sha256).read_bytes())
            metadata = with_architecture(metadata, model_json)
    team = team_of(session, challenge, user) or join_challenge(session, challenge, user)
    if team.disqualified_at is not None:
        raise Forbidden(f"your team is disqualified: {team.disqualified_reason}")
    lock_teams(session, [team.id])
    quota.enforce(session, challenge, [team.id], now)
    blob = upload.commit()
    claimed = settings is not None and inline_claim(kind, settings)
    token = new_token("embedded") if claimed else ""
    state: dict[str, Any] = {"status": SubmissionStatus.queued}
    if claimed:
        state = running_columns(token, now, settings)
    submission = Submission(
        challenge_id=challenge.id,
        team_id=team.id,
        user_id=user.id,
        kind=kind,
        file_sha256=blob.sha256,
        file_name=file_name[:200],
        file_size=blob.size,
        config_sha256=config_sha256,
        message=message,
        created_at=now,
        late=late,
        run_metadata=metadata,
        **state,
    )
    session.add(submission)
    session.flush()
    job = None
    if claimed:
        assert challenge.solution_sha256 is not None  # validate_csv read it
        job = InlineJob(
            Attempt(submission.id, token, kind, challenge.id),
            blob.sha256,
            challenge.solution_sha256,
            challenge.metric,
            list(challenge.extra_metrics or []),
            parsed,
        )
    return Accepted(submission, quota.usage(session, challenge, [team.id], now), parsed, job)


def visible_submission(session: Session, submission_id: int, viewer: User) -> Submission:
    """A submission of the viewer's team (or any, for the challenge's managers); else 404."""
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound.of("submission")
    challenge = session.get(Challenge, submission.challenge_id)
    assert challenge is not None
    if access.can_manage(session, viewer, challenge):
        return submission
    team = team_of(session, challenge, viewer)
    if team is None or team.id != submission.team_id:
        raise NotFound.of("submission")
    return submission


def cancel(session: Session, submission_id: int, viewer: User) -> Submission:
    """Cancel a queued or running submission of the viewer's team; it costs no quota.

    One conditional UPDATE decides: a worker's result is written only while the
    submission is still ``running`` under that worker's attempt token, so once
    this commits, a result that arrives afterwards changes nothing; and if the
    result won the race, the submission is no longer cancellable (409).
    """
    submission = visible_submission(session, submission_id, viewer)
    challenge = session.get(Challenge, submission.challenge_id)
    assert challenge is not None
    team = team_of(session, challenge, viewer)
    if team is None or team.id != submission.team_id:
        raise Forbidden("only a member of the team that submitted it can cancel a submission")
    now = utcnow()
    result = session.execute(
        update(Submission)
        .where(Submission.id == submission.id, Submission.status.in_(list(UNFINISHED)))
        .values(
            status=SubmissionStatus.cancelled,
            error="cancelled by the team",
            worker_id=None,
            lease_expires_at=None,
            scored_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(submission)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            f"submission {submission.id} is {submission.status}; only queued or running "
            "submissions can be cancelled"
        )
    return submission


def list_for(session: Session, challenge: Challenge, viewer: User) -> list[Submission]:
    query = select(Submission).where(Submission.challenge_id == challenge.id)
    if not access.can_manage(session, viewer, challenge):
        team = team_of(session, challenge, viewer)
        if team is None:
            return []
        query = query.where(Submission.team_id == team.id)
    return list(session.scalars(query.order_by(Submission.created_at.desc(), Submission.id.desc())))


def queue_positions(session: Session) -> dict[int, int]:
    """1-based place of each queued submission in the scoring queue (oldest first)."""
    ids = session.scalars(
        select(Submission.id)
        .where(Submission.status == SubmissionStatus.queued)
        .order_by(Submission.created_at, Submission.id)
    ).all()
    return {submission_id: place for place, submission_id in enumerate(ids, start=1)}


def select_final(
    session: Session, challenge: Challenge, user: User, submission_ids: list[int]
) -> list[int]:
    if challenge.state == ChallengeState.finalized:
        raise Conflict("the challenge is finalized; final selections are locked")
    team = team_of(session, challenge, user)
    if team is None:
        raise NotFound.of("your team in this challenge")
    wanted = sorted(set(submission_ids))
    if len(wanted) > challenge.final_selection_count:
        raise Invalid(
            f"select at most {challenge.final_selection_count} submissions, got {len(wanted)}"
        )
    lock_teams(session, [team.id])
    found = {
        s.id: s
        for s in session.scalars(
            select(Submission).where(Submission.id.in_(wanted), Submission.team_id == team.id)
        )
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        raise NotFound.of(f"submission {missing[0]} in your team")
    unscored = [i for i in wanted if found[i].status != SubmissionStatus.scored]
    if unscored:
        raise Invalid(f"submission {unscored[0]} is not scored; only scored ones count")
    late = [i for i in wanted if found[i].late]
    if late:
        raise Invalid(f"submission {late[0]} is late; late submissions never count for the board")
    session.execute(
        update(Submission)
        .where(Submission.team_id == team.id)
        .values(selected_for_final=Submission.id.in_(wanted) if wanted else False)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    bump_board(session, challenge.id)
    return wanted


def rescore_all(session: Session, challenge: Challenge) -> int:
    """Queue every finished submission again; jobs are sent after the commit."""
    if challenge.state == ChallengeState.finalized:
        raise Conflict("the challenge is finalized; its scores are final")
    ids = list(
        session.scalars(
            select(Submission.id).where(
                Submission.challenge_id == challenge.id,
                Submission.status.in_(
                    [SubmissionStatus.scored, SubmissionStatus.failed, *UNFINISHED]
                ),
            )
        )
    )
    if ids:
        session.execute(
            update(Submission)
            .where(Submission.id.in_(ids))
            .values(
                status=SubmissionStatus.queued,
                public_score=None,
                private_score=None,
                extra_scores=None,
                public_ci_halfwidth=None,
                public_bootstrap=None,
                error=None,
                platform_error=False,
                attempts=0,
                worker_id=None,
                lease_expires_at=None,
                scored_at=None,
            )
            .execution_options(synchronize_session=False)
        )
    bump_board(session, challenge.id)
    session.commit()
    dispatch(ids, background=True)
    return len(ids)
