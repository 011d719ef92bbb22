"""The class atlas over HTTP: ``GET /api/v1/challenges/{slug}/atlas``."""

from __future__ import annotations

from fastapi import APIRouter

from server.challenges.router import VisibleChallenge
from server.deps import SessionDep
from server.teaching.atlas import Atlas, atlas

router = APIRouter(prefix="/api/v1/challenges/{slug}", tags=["teaching"])


@router.get("/atlas", response_model=Atlas)
def get_atlas(challenge: VisibleChallenge, session: SessionDep) -> object:
    """What the class's fact sheets say: score by model, activation, depth, width,
    parameters and learning rate (public scores only before finalize), and dropout
    against the public→private gap once finalized."""
    return atlas(session, challenge)
