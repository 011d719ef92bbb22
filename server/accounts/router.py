from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import select

from server.accounts import links, service
from server.accounts.schemas import (
    PasswordChange,
    PasswordChanged,
    SignInLink,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserCreated,
    UserRead,
)
from server.accounts.users import Issued, check_email
from server.config import Settings
from server.deps import (
    BearerCredentials,
    CurrentUser,
    OptionalUser,
    SessionDep,
    SettingsDep,
    token_from_request,
)
from server.exceptions import Forbidden, Invalid
from server.models import ApiToken, Role
from server.models.base import RowId

router = APIRouter(prefix="/api/v1", tags=["accounts"])

SIGNUP_CLOSED = "sign-up is closed; ask an organizer for an account"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def sign_in_link(request: Request, settings: Settings, issued: Issued) -> SignInLink:
    path = links.link_path(issued.secret)
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    user = issued.user
    return SignInLink(
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        student_id=user.student_id,
        path=path,
        url=base + path,
        expires_at=issued.expires_at,
    )


@router.post("/users", response_model=UserCreated, status_code=status.HTTP_201_CREATED)
def register(
    body: UserCreate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    caller: OptionalUser,
) -> object:
    """Sign up (when sign-up is open), or, for organizers and admins, make an account.

    Organizers and admins may do it even when sign-up is closed, set the email and
    student id, and leave out the password: the answer then holds a one-time
    sign-in link (7 days). Only admins choose a role other than participant.
    """
    staff = caller is not None and caller.is_organizer
    if not staff:
        if not settings.allow_signup:
            raise Forbidden(SIGNUP_CLOSED)
        if body.email or body.student_id or body.role not in (None, Role.participant):
            raise Forbidden("only organizers set an email, a student id or a role")
        if body.password is None:
            raise Invalid("choose a password")
    if body.role not in (None, Role.participant) and not (caller and caller.is_admin):
        raise Forbidden("only admins create organizer and admin accounts")
    user = service.create_user(
        session,
        body.username,
        body.password,
        Role(body.role or Role.participant),
        display_name=body.display_name,
        email=check_email(body.email),
        student_id=body.student_id or None,
        created_by=caller if staff else None,
    )
    created = UserCreated.model_validate(user)
    if staff and body.password is None:
        secret, expires = links.issue_link(session, user, fresh=True)
        created.sign_in_link = sign_in_link(request, settings, Issued(user, secret, expires))
    return created


@router.put("/me/password", response_model=PasswordChanged)
def change_password(
    body: PasswordChange,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    credentials: BearerCredentials,
) -> object:
    """Change your password: your other tokens and browser sessions stop working."""
    secret = token_from_request(request, credentials)
    revoked = links.change_password(session, user, body.current_password, body.new_password, secret)
    return PasswordChanged(revoked=revoked)


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def login(
    body: TokenCreate, request: Request, session: SessionDep, settings: SettingsDep
) -> object:
    """Exchange a username and password for an API token (shown once)."""
    user = service.authenticate(
        session, settings, body.username, body.password, client_address(request)
    )
    token, secret = service.issue_token(session, user, name=body.name)
    return TokenCreated(
        id=token.id,
        token=secret,
        name=token.name,
        created_at=token.created_at,
        user=UserRead.model_validate(user),
    )


@router.get("/me", response_model=UserRead)
def me(user: CurrentUser) -> object:
    return user


@router.get("/tokens", response_model=list[TokenRead])
def list_tokens(user: CurrentUser, session: SessionDep) -> object:
    return session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.kind == "api")
        .order_by(ApiToken.id)
    ).all()


@router.delete(
    "/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
def revoke(token_id: RowId, user: CurrentUser, session: SessionDep) -> Response:
    """Revoke one of your tokens."""
    service.revoke_token(session, user, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
