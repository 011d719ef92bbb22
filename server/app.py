"""The FastAPI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from server import __version__
from server.accounts.router import router as accounts_router
from server.challenges.router import router as challenges_router
from server.config import get_settings
from server.db import get_engine
from server.deps import SessionDep
from server.errors import install_error_handlers
from server.leaderboard.router import router as leaderboard_router
from server.middleware import BodySizeLimitMiddleware, SecurityHeadersMiddleware
from server.submissions.router import router as submissions_router
from server.teams.router import router as teams_router

log = logging.getLogger(__name__)


class Health(BaseModel):
    status: str
    database: str
    version: str
    jobs: str


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    get_engine(settings)
    if not settings.broker_url and app.state.recover_jobs:
        from server.jobs.recovery import recover_on_startup

        recovered = recover_on_startup()
        if recovered:
            log.warning("re-dispatched %d unfinished submissions", recovered)
    yield


def create_app(recover_jobs: bool = True) -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="Podium",
        version=__version__,
        description="Self-hosted, Kaggle-style competitions for classroom AI challenges.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.recover_jobs = recover_jobs
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.add_middleware(SecurityHeadersMiddleware)

    @app.get("/api/v1/health", response_model=Health, tags=["meta"])
    def health(session: SessionDep, response: Response) -> Health:
        """Liveness and database reachability (503 when the database is unreachable)."""
        try:
            session.execute(text("SELECT 1"))
            database = "ok"
        except SQLAlchemyError:
            log.exception("health check: database unreachable")
            database = "unreachable"
            response.status_code = 503
        return Health(
            status="ok" if database == "ok" else "error",
            database=database,
            version=__version__,
            jobs="celery" if settings.broker_url else "embedded",
        )

    for router in (
        accounts_router,
        challenges_router,
        teams_router,
        submissions_router,
        leaderboard_router,
    ):
        app.include_router(router)
    return app
