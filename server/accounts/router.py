from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy import select

from server.accounts import service
from server.accounts.schemas import TokenCreate, TokenCreated, TokenRead, UserCreate, UserRead
from server.deps import CurrentUser, SessionDep, SettingsDep
from server.models import ApiToken, Role
from server.models.base import RowId

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/users", response_model=UserRead, status_code=status.HTTP_201_CREATED)
def register(body: UserCreate, session: SessionDep, settings: SettingsDep) -> object:
    """Create a participant account (when sign-up is open)."""
    if not settings.allow_signup:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "sign-up is closed; ask an organizer for an account"
        )
    return service.create_user(session, body.username, body.password, Role.participant)


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
