"""The console's People page: roster import, join requests, hosts, teams, reset links.

Each action calls the service behind its API route (``server.accounts.users``,
``server.challenges.people``, ``server.teams.moderation``) with the route's checks:
the challenge's managers (``console.hosted_challenge``), and the organizer role where
the API asks for it (roster import, reset links). One-time sign-in links are shown
once, in the answer to the form that made them, with a CSV of them to download from
that page itself: the server keeps only their hashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import HTMLResponse, Response

from server.accounts import users
from server.accounts.admin_router import MAX_ROSTER_BYTES
from server.accounts.router import sign_in_link
from server.accounts.schemas import SignInLink
from server.challenges import people
from server.challenges.people_schemas import ParticipantRead
from server.exceptions import Forbidden, Invalid, PodiumError, TooLarge
from server.models import Challenge, ChallengeState, User
from server.teams import moderation
from server.uploads import before_body
from server.web.console import (
    CsrfField,
    csv_data_url,
    csv_text,
    hosted_challenge,
    manager_gate,
    posted,
)
from server.web.context import Page, PageDep, PageRoute

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Username = Annotated[str, Form(max_length=64)]
TeamName = Annotated[str, Form(max_length=200)]
LINK_COLUMNS = ("username", "display_name", "email", "student_id", "url", "expires_at")

DONE = {
    "roster": "The roster is imported.",
    "host-added": "The host is added: it manages this challenge as you do.",
    "host-removed": "The host is removed.",
    "approve": "The request is approved.",
    "reject": "The request is rejected: that user cannot ask again.",
    "disqualify": "The team is disqualified: it is off every board, and it sees the reason.",
    "reinstate": "The team is reinstated: it is back on the boards.",
}
Done = Literal[
    "roster", "host-added", "host-removed", "approve", "reject", "disqualify", "reinstate"
]


@dataclass
class TeamRow:
    """One team with its members, as the participants route describes them."""

    name: str
    submissions: int
    best_public_score: float | None
    public_rank: int | None
    private_score: float | None
    private_rank: int | None
    disqualified_reason: str | None
    members: list[ParticipantRead] = field(default_factory=list)


def team_rows(rows: list[ParticipantRead]) -> list[TeamRow]:
    teams: dict[str, TeamRow] = {}
    for row in rows:
        if row.team is None:
            continue
        team = teams.get(row.team)
        if team is None:
            team = teams[row.team] = TeamRow(
                name=row.team,
                submissions=row.submissions,
                best_public_score=row.best_public_score,
                public_rank=row.public_rank,
                private_score=row.private_score,
                private_rank=row.private_rank,
                disqualified_reason=row.disqualified_reason,
            )
        team.members.append(row)
    return sorted(teams.values(), key=lambda t: (t.public_rank is None, t.public_rank or 0, t.name))


def require_organizer_role(user: User) -> None:
    """The API's ``Organizer`` dependency (roster import, reset links)."""
    if not user.is_organizer:
        raise Forbidden("organizer role required")


def people_page(
    page: Page,
    challenge: Challenge,
    status_code: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    session = page.session
    rows = people.participants(session, challenge)
    user = page.require_user()
    return page.render(
        "manage/people.html",
        status_code=status_code,
        challenge=challenge,
        hosts=people.hosts(session, challenge),
        teams=team_rows(rows),
        pending=[r for r in rows if r.team is None and r.status == "pending"],
        invited=[r for r in rows if r.team is None and r.status == "invited"],
        rejected=[r for r in rows if r.team is None and r.status == "rejected"],
        revealed=challenge.state == ChallengeState.finalized,
        organizer=user.is_organizer,
        error=error,
        notice=notice,
    )


def refused(page: Page, challenge: Challenge, error: PodiumError) -> Response:
    """The service's refusal, on the People page with the API's status."""
    page.session.rollback()
    return people_page(page, challenge, error.status, error=str(error.detail))


def links_page(page: Page, challenge: Challenge, title: str, links: list[SignInLink]) -> Response:
    """The one-time links, shown once: a table and the same rows as a CSV to download."""
    text = csv_text(
        LINK_COLUMNS,
        (
            (
                link.username,
                link.display_name,
                link.email,
                link.student_id,
                link.url,
                link.expires_at.isoformat(),
            )
            for link in links
        ),
    )
    return page.render(
        "manage/links.html",
        challenge=challenge,
        title=title,
        links=links,
        csv_href=csv_data_url(text),
        csv_name=f"{challenge.slug}-sign-in-links.csv",
    )


@router.get("/manage/{slug}/people", response_class=HTMLResponse)
def people_view(
    slug: str, page: PageDep, done: Done | None = None, name: str | None = None
) -> Response:
    challenge = hosted_challenge(page, slug)
    notice = DONE[done] if done else None
    if notice and name:
        notice = f"{name}: {notice}"
    return people_page(page, challenge, notice=notice)


def _done(challenge: Challenge, done: str, name: str) -> str:
    return f"/manage/{challenge.slug}/people?" + urlencode({"done": done, "name": name})


@router.post("/manage/{slug}/people/roster", response_class=HTMLResponse)
@before_body(manager_gate)
def import_roster(
    slug: str,
    page: PageDep,
    csrf: CsrfField = "",
    roster: Annotated[UploadFile | None, File()] = None,
    invite: Annotated[str, Form()] = "",
) -> Response:
    """The browser's POST /api/v1/users/import, then (ticked) POST .../participants."""
    challenge = posted(page, slug, csrf)
    user = page.require_user()
    require_organizer_role(user)
    content = roster.file.read(MAX_ROSTER_BYTES + 1) if roster is not None else b""
    invite_them = invite == "yes"
    try:
        if not content:
            raise Invalid("choose a roster file: username,display_name,email,student_id")
        if len(content) > MAX_ROSTER_BYTES:
            raise TooLarge(f"the roster is over {MAX_ROSTER_BYTES // 1024 // 1024} MiB")
        issued = users.import_roster(page.session, user, content)
        if invite_them and issued:
            people.invite_users(page.session, challenge, [i.user.username for i in issued])
    except PodiumError as error:
        return refused(page, challenge, error)
    links = [sign_in_link(page.request, page.settings, i) for i in issued]
    page.session.commit()
    title = f"{len(links)} account{'' if len(links) == 1 else 's'} created"
    title += " and invited" if invite_them else ""
    return links_page(page, challenge, title, links)


@router.post("/manage/{slug}/people/reset-link", response_class=HTMLResponse)
def reset_link(slug: str, page: PageDep, username: Username, csrf: CsrfField = "") -> Response:
    """The browser's POST /api/v1/users/{username}/reset-link."""
    challenge = posted(page, slug, csrf)
    user = page.require_user()
    require_organizer_role(user)
    try:
        issued = users.reset_link(page.session, user, username)
    except PodiumError as error:
        return refused(page, challenge, error)
    link = sign_in_link(page.request, page.settings, issued)
    page.session.commit()
    return links_page(page, challenge, f"A new sign-in link for {issued.user.username}", [link])


@router.post("/manage/{slug}/people/hosts", response_class=HTMLResponse)
def add_host(slug: str, page: PageDep, username: Username, csrf: CsrfField = "") -> Response:
    challenge = posted(page, slug, csrf)
    try:
        people.add_host(page.session, challenge, username.strip())
    except PodiumError as error:
        return refused(page, challenge, error)
    page.session.commit()
    return page.redirect(_done(challenge, "host-added", username.strip()))


@router.post("/manage/{slug}/people/hosts/remove", response_class=HTMLResponse)
def remove_host(slug: str, page: PageDep, username: Username, csrf: CsrfField = "") -> Response:
    challenge = posted(page, slug, csrf)
    try:
        people.remove_host(page.session, challenge, username)
    except PodiumError as error:
        return refused(page, challenge, error)
    page.session.commit()
    return page.redirect(_done(challenge, "host-removed", username))


@router.post("/manage/{slug}/people/requests", response_class=HTMLResponse)
def decide(
    slug: str,
    page: PageDep,
    username: Username,
    decision: Annotated[Literal["approve", "reject"], Form()],
    csrf: CsrfField = "",
) -> Response:
    """Approve (a team of one, if the challenge is open) or reject a request to join."""
    challenge = posted(page, slug, csrf)
    try:
        people.decide(page.session, challenge, username, approve=decision == "approve")
    except PodiumError as error:
        return refused(page, challenge, error)
    page.session.commit()
    return page.redirect(_done(challenge, decision, username))


@router.post("/manage/{slug}/people/disqualify", response_class=HTMLResponse)
def disqualify(
    slug: str,
    page: PageDep,
    team: TeamName,
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: CsrfField = "",
) -> Response:
    challenge = posted(page, slug, csrf)
    try:
        moderation.disqualify(page.session, challenge, team, reason)
    except PodiumError as error:
        return refused(page, challenge, error)
    page.session.commit()
    return page.redirect(_done(challenge, "disqualify", team))


@router.post("/manage/{slug}/people/reinstate", response_class=HTMLResponse)
def reinstate(slug: str, page: PageDep, team: TeamName, csrf: CsrfField = "") -> Response:
    challenge = posted(page, slug, csrf)
    try:
        moderation.reinstate(page.session, challenge, team)
    except PodiumError as error:
        return refused(page, challenge, error)
    page.session.commit()
    return page.redirect(_done(challenge, "reinstate", team))
