from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile, status
from fastapi.responses import FileResponse

from server.challenges import access
from server.challenges.router import VisibleChallenge
from server.deps import CurrentUser, SessionDep, SettingsDep, StoreDep
from server.models import Challenge, Submission
from server.models.base import RowId
from server.storage import get_blob_store
from server.submissions import metadata as fact_sheet
from server.submissions import quota, service
from server.submissions.gate import api_submission_gate, receive_submission
from server.submissions.schemas import SelectionRead, SelectionUpdate, SubmissionRead
from server.uploads import GatedRoute, before_body

router = APIRouter(prefix="/api/v1", tags=["submissions"], route_class=GatedRoute)

MAX_MESSAGE_LENGTH = 1000


def _safe_name(name: str | None, default: str) -> str:
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")
    return base[:200] or default


@router.post(
    "/challenges/{slug}/submissions",
    response_model=SubmissionRead,
    status_code=status.HTTP_201_CREATED,
)
@before_body(api_submission_gate)
def submit(
    challenge: VisibleChallenge,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    file: Annotated[UploadFile, File(description="Predictions CSV, or model weights/program")],
    message: Annotated[str, Form(max_length=MAX_MESSAGE_LENGTH)] = "",
    kind: Annotated[Literal["csv", "checkpoint"], Form()] = "csv",
    config: Annotated[
        UploadFile | None, File(description="Model config JSON (weights-only checkpoints)")
    ] = None,
    metadata: Annotated[
        str | None, Form(description="Fact sheet: a JSON object of at most 64 KB")
    ] = None,
) -> object:
    """Submit predictions (validated now; a rejected file uses no quota) or a checkpoint."""
    run_metadata = fact_sheet.parse(metadata)  # refused before anything is stored
    accepted = receive_submission(
        session,
        challenge,
        user,
        file.file,
        _safe_name(file.filename, "predictions.csv" if kind == "csv" else "model"),
        message,
        kind,
        config.file if config is not None else None,
        store,
        settings,
        metadata=run_metadata,
    )
    submission, uses = accepted.submission, accepted.uses
    # The job goes out only once the row is committed: a worker must find it.
    session.commit()
    # The embedded scorer scores the file as validation parsed it (no second read).
    accepted.send(settings)
    session.refresh(submission)
    return service.to_read(
        submission,
        challenge,
        False,
        remaining_today=quota.remaining_today(uses),
        limits_left=quota.left(uses, challenge),
    )


@router.get("/challenges/{slug}/submissions", response_model=list[SubmissionRead])
def list_submissions(challenge: VisibleChallenge, user: CurrentUser, session: SessionDep) -> object:
    """Your team's submissions, newest first (the challenge's managers: everyone's)."""
    submissions = service.list_for(session, challenge, user)
    manages = access.can_manage(session, user, challenge)
    positions = service.queue_positions(session) if manages else {}
    return [
        service.to_read(s, challenge, manages, queue_position=positions.get(s.id))
        for s in submissions
    ]


@router.put("/challenges/{slug}/selection", response_model=SelectionRead)
def select_final(
    body: SelectionUpdate, challenge: VisibleChallenge, user: CurrentUser, session: SessionDep
) -> object:
    """Choose the submissions that count for the private leaderboard."""
    selected = service.select_final(session, challenge, user, body.submission_ids)
    return SelectionRead(selected=selected, final_selection_count=challenge.final_selection_count)


def _challenge_of(session: SessionDep, submission: Submission) -> Challenge:
    challenge = session.get(Challenge, submission.challenge_id)
    assert challenge is not None
    return challenge


@router.get("/submissions/{submission_id}", response_model=SubmissionRead)
def get_submission(submission_id: RowId, user: CurrentUser, session: SessionDep) -> object:
    """One of your team's submissions (any, for organizers)."""
    submission = service.visible_submission(session, submission_id, user)
    challenge = _challenge_of(session, submission)
    manages = access.can_manage(session, user, challenge)
    positions = service.queue_positions(session) if manages else {}
    return service.to_read(
        submission, challenge, manages, queue_position=positions.get(submission.id)
    )


@router.post("/submissions/{submission_id}/cancel", response_model=SubmissionRead)
def cancel_submission(submission_id: RowId, user: CurrentUser, session: SessionDep) -> object:
    """Cancel a queued or running submission of your team (it uses no quota; 409 if done)."""
    submission = service.cancel(session, submission_id, user)
    session.commit()
    challenge = _challenge_of(session, submission)
    return service.to_read(submission, challenge, access.can_manage(session, user, challenge))


@router.get(
    "/submissions/{submission_id}/file",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_submission(
    submission_id: RowId, user: CurrentUser, session: SessionDep
) -> FileResponse:
    """The file your team submitted (organizers: any)."""
    submission = service.visible_submission(session, submission_id, user)
    return FileResponse(
        get_blob_store().path_for(submission.file_sha256),
        filename=submission.file_name or f"submission-{submission.id}",
        media_type="application/octet-stream",
    )
