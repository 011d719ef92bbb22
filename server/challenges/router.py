from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import FileResponse
from sqlalchemy import select

from server.challenges import access, service
from server.challenges.schemas import (
    ChallengeCreate,
    ChallengeRead,
    ChallengeUpdate,
    FileRead,
    HiddenInputsRead,
    RescoreRead,
    SolutionRead,
)
from server.deps import CurrentUser, OptionalUser, Organizer, SessionDep
from server.models import Challenge, ChallengeFile
from server.storage import StoredBlob, get_blob_store
from server.submissions.service import rescore_all
from server.uploads import read_upload

router = APIRouter(prefix="/api/v1/challenges", tags=["challenges"])


def visible_challenge(slug: str, session: SessionDep, viewer: OptionalUser) -> Challenge:
    return service.get_challenge(session, slug, viewer)


def managed_challenge(slug: str, session: SessionDep, user: CurrentUser) -> Challenge:
    """A challenge the caller manages (its creator, a host, an admin); 403 otherwise."""
    return service.get_managed(session, slug, user)


VisibleChallenge = Annotated[Challenge, Depends(visible_challenge)]
ManagedChallenge = Annotated[Challenge, Depends(managed_challenge)]


async def organizer_upload(
    request: Request, challenge: ManagedChallenge
) -> AsyncIterator[StoredBlob]:
    # Depends on the organizer check so that nobody else can make us store a body.
    # Staged: the service commits it to the store once accepted; a refusal leaves nothing.
    with await read_upload(request) as staged:
        yield staged


OrganizerUpload = Annotated[StoredBlob, Depends(organizer_upload)]


@router.get("", response_model=list[ChallengeRead])
def list_challenges(session: SessionDep, viewer: OptionalUser) -> object:
    """Challenges you can see (drafts only for organizers), newest first."""
    challenges = service.list_challenges(session, viewer)
    counts = service.counts(session, [c.id for c in challenges])
    return [service.to_read(c, counts[c.id]) for c in challenges]


@router.post("", response_model=ChallengeRead, status_code=status.HTTP_201_CREATED)
def create_challenge(body: ChallengeCreate, session: SessionDep, organizer: Organizer) -> object:
    """Create a challenge in the draft state."""
    challenge = service.create_challenge(session, body, organizer)
    return service.read_one(session, challenge)


@router.get("/{slug}", response_model=ChallengeRead)
def get_challenge(challenge: VisibleChallenge, session: SessionDep) -> object:
    return service.read_one(session, challenge)


@router.patch("/{slug}", response_model=ChallengeRead)
def update_challenge(
    body: ChallengeUpdate, challenge: ManagedChallenge, session: SessionDep
) -> object:
    """Change fields; ``{"state": "open"}`` opens it, ``"closed"`` closes it early."""
    service.update_challenge(session, challenge, body, get_blob_store())
    session.flush()
    return service.read_one(session, challenge)


@router.get("/{slug}/files", response_model=list[FileRead])
def list_files(challenge: VisibleChallenge, session: SessionDep) -> object:
    return session.scalars(
        select(ChallengeFile)
        .where(ChallengeFile.challenge_id == challenge.id)
        .order_by(ChallengeFile.name)
    ).all()


@router.get(
    "/{slug}/files/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_file(
    name: str, challenge: VisibleChallenge, session: SessionDep, user: CurrentUser
) -> FileResponse:
    """Download a public file (sign-in required; supports Range for resuming)."""
    file = service.get_file(session, challenge, name)
    access.check_may_download(session, user, challenge)
    return FileResponse(
        get_blob_store().path_for(file.sha256),
        filename=file.name,
        media_type="application/octet-stream",
        headers={"ETag": f'"{file.sha256}"', "X-Content-SHA256": file.sha256},
    )


@router.put("/{slug}/files/{name}", response_model=FileRead, status_code=status.HTTP_201_CREATED)
def upload_file(
    name: str, challenge: ManagedChallenge, blob: OrganizerUpload, session: SessionDep
) -> object:
    """Upload or replace a public file: the raw body, or multipart field ``file``."""
    service.check_file_name(name)
    return service.put_file(session, challenge, name, blob)


@router.put("/{slug}/solution", response_model=SolutionRead)
def upload_solution(
    challenge: ManagedChallenge, blob: OrganizerUpload, session: SessionDep
) -> object:
    """Upload the hidden solution CSV ``id,<target>,usage`` (never downloadable)."""
    return service.put_solution(session, challenge, blob, get_blob_store())


@router.put("/{slug}/hidden-inputs", response_model=HiddenInputsRead)
def upload_hidden_inputs(
    challenge: ManagedChallenge, blob: OrganizerUpload, session: SessionDep
) -> object:
    """Upload the hidden inputs (.npy) that checkpoints are evaluated on."""
    return service.put_hidden_inputs(session, challenge, blob, get_blob_store())


@router.post("/{slug}/finalize", response_model=ChallengeRead)
def finalize(challenge: ManagedChallenge, session: SessionDep) -> object:
    """Reveal the private leaderboard (the challenge must be closed)."""
    service.finalize(session, challenge)
    session.flush()
    return service.read_one(session, challenge)


@router.post("/{slug}/rescore", response_model=RescoreRead)
def rescore(challenge: ManagedChallenge, session: SessionDep) -> object:
    """Score every submission again (after a solution fix); boards follow."""
    return RescoreRead(rescored=rescore_all(session, challenge))
