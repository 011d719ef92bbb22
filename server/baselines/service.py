"""Baseline rows: add, list and remove the hosts' reference entries.

A baseline is a :class:`~server.models.Baseline` pointing at a submission that
has no team. It goes through the same validation and scoring as any
submission; boards list it apart from the ranked entries.
"""

from __future__ import annotations

from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.baselines.schemas import BaselineRead, label
from server.checkpoints.upload import validate_checkpoint_upload
from server.config import get_settings
from server.exceptions import Conflict, Invalid, NotFound
from server.leaderboard.bump import bump_board
from server.models import Baseline, Challenge, ChallengeState, Submission, SubmissionStatus, User
from server.storage import BlobStore
from server.submissions.service import may_see_private, validate_csv

MAX_NAME_LENGTH = 64


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise Invalid(f"a baseline name must be 1-{MAX_NAME_LENGTH} printable characters")
    return name


def add_baseline(
    session: Session,
    challenge: Challenge,
    host: User,
    name: str,
    description: str,
    upload: BinaryIO,
    file_name: str,
    kind: str,
    config: BinaryIO | None,
    store: BlobStore,
) -> Baseline:
    """Validate the file as a submission would be, and queue it for scoring."""
    name = check_name(name)
    if challenge.state == ChallengeState.finalized:
        raise Conflict("the challenge is finalized; its boards can no longer change")
    if challenge.solution_sha256 is None:
        raise Conflict("upload a solution (PUT .../solution) before adding baselines")
    if kind not in challenge.submission_kinds:
        raise Invalid(
            f"this challenge accepts {', '.join(challenge.submission_kinds)} submissions, "
            f"not '{kind}'"
        )
    if find(session, challenge, name) is not None:
        raise Conflict(f"a baseline named '{name}' already exists; delete it first")
    # Staged: a refused file never joins the blob store.
    with store.stage_file(upload, get_settings().max_upload_bytes) as staged:
        config_sha256: str | None = None
        if kind == "csv":
            validate_csv(challenge, staged, store)
        else:
            config_sha256 = validate_checkpoint_upload(challenge, staged, config, file_name, store)
        blob = staged.commit()
    submission = Submission(
        challenge_id=challenge.id,
        team_id=None,
        user_id=host.id,
        kind=kind,
        file_sha256=blob.sha256,
        file_name=file_name[:200],
        file_size=blob.size,
        config_sha256=config_sha256,
        message=label(name),
        status=SubmissionStatus.queued,
    )
    session.add(submission)
    session.flush()
    baseline = Baseline(
        challenge_id=challenge.id,
        name=name,
        description=description,
        submission_id=submission.id,
    )
    session.add(baseline)
    session.flush()
    bump_board(session, challenge.id)
    return baseline


def find(session: Session, challenge: Challenge, name: str) -> Baseline | None:
    return session.scalar(
        select(Baseline).where(Baseline.challenge_id == challenge.id, Baseline.name == name)
    )


def list_baselines(session: Session, challenge: Challenge) -> list[Baseline]:
    return list(
        session.scalars(
            select(Baseline)
            .where(Baseline.challenge_id == challenge.id)
            .order_by(Baseline.created_at, Baseline.id)
        )
    )


def delete_baseline(session: Session, challenge: Challenge, name: str) -> None:
    if challenge.state == ChallengeState.finalized:
        raise Conflict("the challenge is finalized; its boards can no longer change")
    baseline = find(session, challenge, name)
    if baseline is None:
        raise NotFound.of(f"baseline '{name}'")
    submission = session.get(Submission, baseline.submission_id)
    session.delete(baseline)
    if submission is not None:
        session.delete(submission)
    session.flush()
    bump_board(session, challenge.id)


def to_read(baseline: Baseline, challenge: Challenge, host: bool) -> BaselineRead:
    """``host``: the viewer manages the challenge (see server.challenges.access)."""
    submission = baseline.submission
    return BaselineRead(
        name=baseline.name,
        label=label(baseline.name),
        description=baseline.description,
        kind=submission.kind,
        status=submission.status,
        public_score=submission.public_score,
        private_score=submission.private_score if may_see_private(challenge, host) else None,
        # A failed baseline's message is the hosts' business.
        error=submission.error if host else None,
        created_at=baseline.created_at,
        submission_id=submission.id if host else None,
    )
