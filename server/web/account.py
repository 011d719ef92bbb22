"""Pages of one's own account (sign-in, sign-up, sign-out, the welcome link, the password)
and of joining (invite links)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, Response

from server.accounts import links
from server.accounts import service as accounts
from server.accounts.router import client_address
from server.accounts.sessions import issue_session, revoke_session
from server.challenges import access, people
from server.challenges import service as challenges
from server.exceptions import Forbidden, Invalid, PodiumError
from server.models import ChallengeState, Role, User
from server.teams import service as teams
from server.web.context import Page, PageDep, PageRoute, safe_next
from server.web.router import CsrfField

pages = APIRouter(include_in_schema=False, route_class=PageRoute)

PasswordField = Annotated[str, Form(max_length=256)]


@pages.get("/welcome/{secret}", response_class=HTMLResponse)
def welcome_form(secret: str, page: PageDep) -> Response:
    """A one-time sign-in link: choose a password (an expired or used link: a clear 404)."""
    user = links.link_user(page.session, secret)
    return page.render(
        "welcome.html",
        secret=secret,
        username=user.username,
        display_name=user.display_name,
        error=None,
    )


@pages.post("/welcome/{secret}", response_class=HTMLResponse)
def welcome(
    secret: str,
    page: PageDep,
    csrf: CsrfField = "",
    password: PasswordField = "",
    confirm: PasswordField = "",
) -> Response:
    page.check_csrf(csrf)
    user = links.link_user(page.session, secret)
    try:
        if password != confirm:
            raise PodiumError("the two passwords differ")
        user = links.redeem_link(page.session, secret, password)
    except PodiumError as refused:
        if refused.status == 404:
            raise
        page.session.rollback()
        return page.render(
            "welcome.html",
            status_code=422,
            secret=secret,
            username=user.username,
            display_name=user.display_name,
            error=refused.detail,
        )
    return _signed_in(page, user, "/account?welcome=1")


def _account(
    page: PageDep, status_code: int = 200, error: str | None = None, notice: str | None = None
) -> Response:
    user = page.require_user()
    return page.render(
        "account.html", status_code=status_code, user=user, error=error, notice=notice
    )


@pages.get("/account", response_class=HTMLResponse)
def account(page: PageDep, welcome: int | None = None) -> Response:
    notice = "Your password is set; you are signed in." if welcome else None
    return _account(page, notice=notice)


@pages.post("/account/password", response_class=HTMLResponse)
def change_password(
    page: PageDep,
    csrf: CsrfField = "",
    current: PasswordField = "",
    new: PasswordField = "",
    confirm: PasswordField = "",
) -> Response:
    """Change the password; the other sessions and API tokens stop working."""
    user = page.require_user()
    page.check_csrf(csrf)
    try:
        if new != confirm:
            raise PodiumError("the two new passwords differ")
        revoked = links.change_password(page.session, user, current, new, page.session_secret)
    except PodiumError as refused:
        page.session.rollback()
        status = 422 if refused.status == 400 else refused.status
        return _account(page, status, error=refused.detail)
    return _account(
        page, notice=f"Password changed. {revoked} other session(s) and token(s) signed out."
    )


@pages.post("/c/{slug}/join", response_class=HTMLResponse)
def join(slug: str, page: PageDep, csrf: CsrfField = "") -> Response:
    """Join (or, where hosts approve participants, ask to join) from the challenge page."""
    user = page.require_user()
    page.check_csrf(csrf)
    challenge = challenges.get_challenge(page.session, slug, user)
    if people.request_join(page.session, challenge, user) is not None:
        return page.redirect(f"/c/{challenge.slug}")  # the page says the request waits
    teams.join_challenge(page.session, challenge, user)
    return page.redirect(f"/c/{challenge.slug}/submissions")


@pages.get("/c/{slug}/join/{code}", response_class=HTMLResponse)
def invite_page(slug: str, code: str, page: PageDep) -> Response:
    """An invite link: signed-in users confirm, others sign in first."""
    page.require_user()
    challenge = people.invited_challenge(page.session, slug, code)
    return page.render("invite.html", challenge=challenge, code=code)


@pages.post("/c/{slug}/join/{code}", response_class=HTMLResponse)
def accept_invite(slug: str, code: str, page: PageDep, csrf: CsrfField = "") -> Response:
    user = page.require_user()
    page.check_csrf(csrf)
    challenge = people.redeem_invite(page.session, slug, user, code)
    if (
        challenge.state == ChallengeState.open
        and not access.can_manage(page.session, user, challenge)
        and not people.request_join(page.session, challenge, user)
    ):
        teams.join_challenge(page.session, challenge, user)
    return page.redirect(f"/c/{challenge.slug}")


@pages.get("/login", response_class=HTMLResponse)
def login_form(page: PageDep, next: str | None = None) -> Response:
    return page.render("login.html", next=safe_next(next), error=None, username="")


@pages.post("/login", response_class=HTMLResponse)
def login(
    page: PageDep,
    csrf: CsrfField = "",
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    page.check_csrf(csrf)
    target = safe_next(next)
    try:
        user = accounts.authenticate(
            page.session, page.settings, username, password, client_address(page.request)
        )
    except PodiumError as refused:
        return page.render(
            "login.html",
            status_code=refused.status,
            next=target,
            error=str(refused.detail),
            username=username,
        )
    return _signed_in(page, user, target)


def _signed_in(page: Page, user: User, target: str) -> Response:
    if page.session_secret is not None:
        revoke_session(page.session, page.session_secret)
    agent = page.request.headers.get("user-agent", "browser")
    secret = issue_session(page.session, user, label=f"browser: {agent}")
    response = page.redirect(target)
    page.sign_in(response, secret)
    return response


@pages.get("/signup", response_class=HTMLResponse)
def signup_form(page: PageDep, next: str | None = None) -> Response:
    if not page.settings.allow_signup:
        raise Forbidden("sign-up is closed; ask an organizer for an account")
    return page.render("signup.html", next=safe_next(next), error=None, username="")


@pages.post("/signup", response_class=HTMLResponse)
def signup(
    page: PageDep,
    csrf: CsrfField = "",
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    confirm: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    page.check_csrf(csrf)
    if not page.settings.allow_signup:
        raise Forbidden("sign-up is closed; ask an organizer for an account")
    target = safe_next(next)
    try:
        if password != confirm:
            raise Invalid("the two passwords differ")
        user = accounts.create_user(page.session, username, password, Role.participant)
    except PodiumError as refused:
        page.session.rollback()
        return page.render(
            "signup.html",
            status_code=refused.status,
            next=target,
            error=str(refused.detail),
            username=username,
        )
    return _signed_in(page, user, target)


@pages.post("/logout", response_class=HTMLResponse)
def logout(page: PageDep, csrf: CsrfField = "") -> Response:
    if page.session_secret is None:
        return page.redirect("/")
    page.check_csrf(csrf)
    revoke_session(page.session, page.session_secret)
    response = page.redirect("/")
    page.sign_out(response)
    return response
