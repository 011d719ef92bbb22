"""The class atlas: ``GET /api/v1/challenges/{slug}/atlas`` and the page ``/c/{slug}/atlas``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from server.challenges import service as challenges
from server.challenges.router import VisibleChallenge
from server.deps import SessionDep
from server.teaching.atlas import Atlas, atlas
from server.web.context import PageDep, PageRoute

router = APIRouter(prefix="/api/v1/challenges/{slug}", tags=["teaching"])
pages = APIRouter(include_in_schema=False, route_class=PageRoute)


@router.get("/atlas", response_model=Atlas)
def get_atlas(challenge: VisibleChallenge, session: SessionDep) -> object:
    """What the class's fact sheets say: score by model, activation, depth, width,
    parameters and learning rate (public scores only before finalize), and dropout
    against the public→private gap once finalized."""
    return atlas(session, challenge)


@pages.get("/c/{slug}/atlas", response_class=HTMLResponse)
def atlas_page(slug: str, page: PageDep) -> Response:
    """The class atlas as charts, each with its counts and a reading."""
    challenge = challenges.get_challenge(page.session, slug, page.user)
    found = atlas(page.session, challenge)
    data = [[group.model_dump() for group in chart.groups] for chart in found.charts]
    return page.render("atlas.html", challenge=challenge, atlas=found, chart_data=data)
