"""The class atlas (``GET /api/v1/challenges/{slug}/atlas``, the page ``/c/{slug}/atlas``)
and the side-by-side comparison of two of a team's submissions
(``/c/{slug}/submissions/compare?a=ID&b=ID``)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from server.challenges import service as challenges
from server.challenges.router import VisibleChallenge
from server.deps import OptionalUser, SessionDep
from server.models.base import RowId
from server.submissions.service import list_for, may_see_private
from server.teaching.atlas import Atlas, atlas, check_visible
from server.teaching.compare import compare
from server.web.context import PageDep, PageRoute

router = APIRouter(prefix="/api/v1/challenges/{slug}", tags=["teaching"])
pages = APIRouter(include_in_schema=False, route_class=PageRoute)


@router.get("/atlas", response_model=Atlas)
def get_atlas(challenge: VisibleChallenge, session: SessionDep, viewer: OptionalUser) -> object:
    """What the class's fact sheets say: score by model, activation, depth, width,
    parameters and learning rate (public scores only before finalize), and dropout
    against the public→private gap once finalized. With ``atlas_visibility``
    ``after_finalize``, participants get 403 until the challenge is finalized
    (its hosts always see it)."""
    check_visible(session, viewer, challenge)
    return atlas(session, challenge)


@pages.get("/c/{slug}/atlas", response_class=HTMLResponse)
def atlas_page(slug: str, page: PageDep) -> Response:
    """The class atlas as charts, each with its counts and a reading."""
    challenge = challenges.get_challenge(page.session, slug, page.user)
    check_visible(page.session, page.user, challenge)
    found = atlas(page.session, challenge)
    data = [[group.model_dump() for group in chart.groups] for chart in found.charts]
    return page.render("atlas.html", challenge=challenge, atlas=found, chart_data=data)


@pages.get("/c/{slug}/submissions/compare", response_class=HTMLResponse)
def compare_page(
    slug: str, page: PageDep, a: RowId | None = None, b: RowId | None = None
) -> Response:
    """Two of the team's own submissions side by side (404 for anyone else's); without
    both ``a`` and ``b``, a form to choose them."""
    user = page.require_user()
    challenge = challenges.get_challenge(page.session, slug, user)
    found = compare(page.session, challenge, user, a, b) if a and b else None
    return page.render(
        "compare.html",
        challenge=challenge,
        comparison=found,
        choices=list_for(page.session, challenge, user),
        # Pages pass no manager: before finalize nobody sees private scores here.
        revealed=may_see_private(challenge, False),
    )
