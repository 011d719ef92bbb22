"""Bundles (a challenge as a zip of its folder) and clones; see docs/bundles.md."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from server.challenges import bundles, service
from server.challenges.router import ManagedChallenge
from server.challenges.schemas import SLUG_PATTERN, ChallengeRead
from server.config import get_settings
from server.deps import CurrentUser, Organizer, SessionDep
from server.storage import StoredBlob, get_blob_store
from server.uploads import read_upload

router = APIRouter(prefix="/api/v1", tags=["bundles"])


class CloneRequest(BaseModel):
    slug: str = Field(pattern=SLUG_PATTERN, examples=["mnist-2027"])
    title: str = Field(min_length=1, max_length=200)


async def host_upload(request: Request, host: Organizer) -> AsyncIterator[StoredBlob]:
    # Depends on the host check so that nobody else can make us store a body. The
    # archive is staged, read in place, and deleted afterwards (never kept).
    with await read_upload(request) as staged:
        yield staged


@router.get("/challenge-bundles/schema")
def bundle_schema() -> dict[str, object]:
    """The JSON Schema of a bundle's challenge.yaml (the client validates with it too)."""
    return bundles.load_schema()


@router.post(
    "/challenge-bundles", response_model=ChallengeRead, status_code=status.HTTP_201_CREATED
)
def create_from_bundle(
    blob: Annotated[StoredBlob, Depends(host_upload)],
    host: CurrentUser,
    session: SessionDep,
    open: Annotated[bool, Query(description="Open the challenge once created")] = False,
) -> object:
    """Create a challenge from a bundle zip (raw body or multipart ``file``): its settings,
    files, solution and hidden inputs, all checked first; a refused bundle creates nothing."""
    store = get_blob_store()
    bundle = bundles.read_bundle(blob.path, store, get_settings().max_upload_bytes)
    challenge = bundles.create_from_bundle(session, bundle, host, store, open_it=open)
    return service.read_one(session, challenge)


@router.get(
    "/challenges/{slug}/bundle",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
def download_bundle(challenge: ManagedChallenge) -> FileResponse:
    """Hosts: the challenge as a bundle zip, solution and hidden inputs included."""
    handle, name = tempfile.mkstemp(prefix="podium-bundle-", suffix=".zip")
    os.close(handle)
    path = Path(name)
    try:
        bundles.write_bundle_zip(challenge, get_blob_store(), path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        filename=f"{challenge.slug}-bundle.zip",
        media_type="application/zip",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.post(
    "/challenges/{slug}/clone", response_model=ChallengeRead, status_code=status.HTTP_201_CREATED
)
def clone(
    body: CloneRequest, challenge: ManagedChallenge, host: CurrentUser, session: SessionDep
) -> object:
    """A new draft with this challenge's settings, files, solution and hidden inputs."""
    copy = bundles.clone(session, challenge, host, body.slug, body.title)
    return service.read_one(session, copy)
