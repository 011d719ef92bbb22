from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Response, UploadFile, status

from server.baselines import service
from server.baselines.schemas import BaselineRead
from server.challenges import access
from server.challenges.router import ManagedChallenge, VisibleChallenge
from server.deps import CurrentUser, OptionalUser, SessionDep
from server.queue.dispatch import dispatch
from server.storage import get_blob_store
from server.submissions.gate import organizer_upload_gate
from server.submissions.router import _safe_name as safe_name
from server.uploads import GatedRoute, before_body

router = APIRouter(
    prefix="/api/v1/challenges/{slug}/baselines", tags=["baselines"], route_class=GatedRoute
)

MAX_DESCRIPTION_LENGTH = 2000


@router.post("", response_model=BaselineRead, status_code=status.HTTP_201_CREATED)
@before_body(organizer_upload_gate)
def add_baseline(
    challenge: ManagedChallenge,
    host: CurrentUser,
    session: SessionDep,
    name: Annotated[str, Form(min_length=1, max_length=service.MAX_NAME_LENGTH)],
    file: Annotated[UploadFile, File(description="Predictions CSV, or model weights/program")],
    description: Annotated[str, Form(max_length=MAX_DESCRIPTION_LENGTH)] = "",
    kind: Annotated[Literal["csv", "checkpoint"], Form()] = "csv",
    config: Annotated[
        UploadFile | None, File(description="Model config JSON (weights-only checkpoints)")
    ] = None,
) -> object:
    """Add a reference entry, scored like a submission; boards show it without a rank."""
    baseline = service.add_baseline(
        session,
        challenge,
        host,
        name,
        description,
        file.file,
        safe_name(file.filename, "predictions.csv" if kind == "csv" else "model"),
        kind,
        config.file if config is not None else None,
        get_blob_store(),
    )
    submission_id = baseline.submission_id
    session.commit()
    dispatch([submission_id])
    session.refresh(baseline)
    return service.to_read(baseline, challenge, True)


@router.get("", response_model=list[BaselineRead])
def list_baselines(
    challenge: VisibleChallenge, session: SessionDep, viewer: OptionalUser
) -> object:
    """The challenge's baselines, oldest first (private scores: hosts, or after finalize)."""
    host = access.can_manage(session, viewer, challenge)
    return [service.to_read(b, challenge, host) for b in service.list_baselines(session, challenge)]


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_baseline(name: str, challenge: ManagedChallenge, session: SessionDep) -> Response:
    """Remove a baseline row (and its scored submission)."""
    service.delete_baseline(session, challenge, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
