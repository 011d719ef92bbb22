"""What every page needs: the signed-in viewer, CSRF tokens, rendering, HTML errors."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from server.accounts.sessions import SESSION_LIFETIME, csrf_token, csrf_valid
from server.config import Settings
from server.deps import SESSION_COOKIE, SessionDep, SettingsDep, user_for_token
from server.exceptions import Forbidden, PodiumError
from server.models import User, utcnow
from server.uploads import run_gate
from server.web.rendering import environment

# Anonymous forms (sign-in, sign-up) are tied to a random nonce in this cookie.
NONCE_COOKIE = "podium_csrf"
NONCE_PREFIX = "anon:"
NONCE_MAX_AGE_SECONDS = 86400
PROJECTOR_VALUES = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as plain values (safe to use after the session closed)."""

    id: int
    username: str
    is_organizer: bool


class LoginRequired(Exception):
    """Raised by pages that need a signed-in viewer; becomes a redirect to /login."""


def safe_next(value: str | None) -> str:
    """A local path to go back to after signing in (never another site)."""
    if (
        value
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and all(ch.isprintable() and not ch.isspace() for ch in value)
    ):
        return value
    return "/"


def cookie_secure(request: Request) -> bool:
    # Behind a TLS proxy uvicorn's proxy_headers turn X-Forwarded-Proto into the scheme.
    return request.url.scheme == "https"


class Page:
    """One page request: who is looking, their CSRF token, and how to answer."""

    def __init__(
        self,
        request: Request,
        session: Session,
        settings: Settings,
        user: User | None,
        session_secret: str | None,
    ) -> None:
        self.request = request
        self.session = session
        self.settings = settings
        self.user = user
        self.session_secret = session_secret
        self.viewer = (
            Viewer(id=user.id, username=user.username, is_organizer=user.is_organizer)
            if user is not None
            else None
        )
        self._new_nonce: str | None = None

    @property
    def projector(self) -> bool:
        return self.request.query_params.get("projector", "").lower() in PROJECTOR_VALUES

    def _csrf_seed(self, create: bool) -> str | None:
        if self.session_secret is not None:
            return self.session_secret
        nonce = self.request.cookies.get(NONCE_COOKIE) or self._new_nonce
        if nonce is None and create:
            nonce = self._new_nonce = secrets.token_urlsafe(24)
        return NONCE_PREFIX + nonce if nonce else None

    @property
    def csrf(self) -> str:
        seed = self._csrf_seed(create=True)
        assert seed is not None
        return csrf_token(self.settings.secret_key, seed)

    def check_csrf(self, candidate: str | None) -> None:
        """Refuse a form that did not come from one of our pages (403)."""
        seed = self._csrf_seed(create=False)
        if seed is None or not csrf_valid(self.settings.secret_key, seed, candidate):
            raise Forbidden(
                "this form has expired or did not come from this site; "
                "reload the page and try again"
            )

    def require_user(self) -> User:
        if self.user is None:
            raise LoginRequired
        return self.user

    def finish(self, response: Response) -> Response:
        """Headers and cookies every page response carries."""
        # Pages hold CSRF tokens and per-viewer content: never store them in shared caches.
        response.headers.setdefault("Cache-Control", "no-store")
        if self._new_nonce is not None:
            response.set_cookie(
                NONCE_COOKIE,
                self._new_nonce,
                max_age=NONCE_MAX_AGE_SECONDS,
                httponly=True,
                samesite="lax",
                secure=cookie_secure(self.request),
            )
        return response

    def render(self, template: str, status_code: int = 200, **context: Any) -> Response:
        html = (
            environment()
            .get_template(template)
            .render(
                viewer=self.viewer,
                csrf=self.csrf,
                projector=self.projector,
                now=utcnow(),
                path=self.request.url.path,
                allow_signup=self.settings.allow_signup,
                **context,
            )
        )
        return self.finish(HTMLResponse(html, status_code=status_code))

    def redirect(self, url: str) -> Response:
        return self.finish(RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER))

    def sign_in(self, response: Response, secret: str) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            secret,
            max_age=int(SESSION_LIFETIME.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=cookie_secure(self.request),
            path="/",
        )

    def sign_out(self, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE,
            path="/",
            httponly=True,
            samesite="lax",
            secure=cookie_secure(self.request),
        )


def get_page(request: Request, session: SessionDep, settings: SettingsDep) -> Page:
    secret = request.cookies.get(SESSION_COOKIE)
    user = user_for_token(session, secret) if secret else None
    page = Page(request, session, settings, user, secret if user is not None else None)
    request.state.page = page
    return page


PageDep = Annotated[Page, Depends(get_page)]


def error_page(request: Request, status_code: int, detail: str, headers: Any = None) -> Response:
    page: Page | None = getattr(request.state, "page", None)
    titles = {
        401: "Sign-in required",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        429: "Too many requests",
    }
    title = titles.get(status_code, "Something went wrong")
    if page is None:
        html = (
            environment()
            .get_template("error.html")
            .render(
                viewer=None,
                csrf="",
                projector=False,
                now=utcnow(),
                path=request.url.path,
                allow_signup=False,
                title=title,
                detail=detail,
                error_status=status_code,
            )
        )
        response: Response = HTMLResponse(html, status_code=status_code)
    else:
        response = page.render(
            "error.html", status_code, title=title, detail=detail, error_status=status_code
        )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


class PageRoute(APIRoute):
    """Routes that answer errors with an HTML page instead of JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                await run_gate(self, request)  # before the body is read (uploads)
                return await handler(request)
            except LoginRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(
                    f"/login?next={quote(target, safe='')}", status.HTTP_303_SEE_OTHER
                )
            except PodiumError as error:  # the one handler for pages (errors.py: for the API)
                return error_page(request, error.status, error.detail, error.headers)
            except HTTPException as error:  # raised by FastAPI and Starlette themselves
                return error_page(request, error.status_code, str(error.detail), error.headers)

        return route
