"""The FastAPI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI, Response
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from server import __version__
from server.accounts.admin_router import router as users_router
from server.accounts.router import router as accounts_router
from server.announcements.router import router as announcements_router
from server.baselines.router import router as baselines_router
from server.blobgc import BlobCollector
from server.challenges.bundle_router import router as bundles_router
from server.challenges.people_router import router as people_router
from server.challenges.router import router as challenges_router
from server.config import get_settings
from server.db import get_engine
from server.deps import SessionDep, worker_api_disabled
from server.errors import ERROR_RESPONSES, install_error_handlers
from server.filemodes import secure_at_start
from server.insight import service as insight
from server.insight.notify import send_due_notifications
from server.insight.outbox import deliverer
from server.insight.router import pages as insight_pages
from server.insight.router import router as insight_router
from server.leaderboard.router import router as leaderboard_router
from server.middleware import BodySizeLimitMiddleware, SecurityHeadersMiddleware
from server.queue.recovery import recover_on_startup
from server.queue.sweeper import LeaseSweeper
from server.submissions.router import router as submissions_router
from server.teaching.factsheets import install as install_fact_sheets
from server.teaching.meter import install as install_meter
from server.teaching.router import pages as teaching_pages
from server.teaching.router import router as teaching_router
from server.teams.router import router as teams_router
from server.web.account import pages as account_pages
from server.web.manage import router as manage_pages
from server.web.manage_data import router as manage_data_pages
from server.web.manage_news import router as manage_news_pages
from server.web.manage_people import router as manage_people_pages
from server.web.manage_setup import router as manage_setup_pages
from server.web.manage_submissions import router as manage_submission_pages
from server.web.own import pages as own_pages
from server.web.pagecache import ChallengePages
from server.web.rendering import environment
from server.web.router import install_web, signed_in_hit
from server.workers.router import queue_router, worker_router

log = logging.getLogger(__name__)


class Health(BaseModel):
    status: str
    database: str
    version: str
    jobs: str


class Pong(BaseModel):
    pong: bool = True


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    secure_at_start(settings, settings.worker_cache_dir)
    get_engine(settings)
    if worker_api_disabled(settings):
        log.warning(
            "PODIUM_WORKER_TOKEN is not set: the worker API refuses every request (403) "
            "until it is set to a random value on the server and every worker"
        )
    sweeper = None
    if app.state.recover_jobs:
        # On either transport: a job sent before a crash may never have reached
        # the broker, and a duplicate finds nothing left to claim.
        recovered = recover_on_startup(settings)
        if recovered:
            log.warning("re-dispatched %d unfinished submissions", recovered)
        # Also: opening, closing-soon and final-results messages (one cheap query; never raises).
        chores = [partial(send_due_notifications, settings)]
        sweeper = LeaseSweeper(settings, also=chores).start()
        # Webhook messages the last run left in the outbox go out now.
        deliverer.wake()
    collector = None
    if app.state.recover_jobs and settings.blob_gc_interval_seconds > 0:
        collector = BlobCollector(settings.blob_gc_interval_seconds).start()
    yield
    if collector is not None:
        collector.stop()
    if sweeper is not None:
        sweeper.stop()


def create_app(recover_jobs: bool = True) -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="Podium",
        version=__version__,
        description="Self-hosted, Kaggle-style competitions for classroom AI challenges.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        responses=ERROR_RESPONSES,
    )
    app.state.recover_jobs = recover_jobs
    insight.install()  # bootstrap intervals and notifications after each scored submission
    install_error_handlers(app)
    # Innermost: the body limit and the security headers apply to its answers too.
    app.add_middleware(ChallengePages, signed_in=signed_in_hit)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_upload_bytes,
        idle_timeout=settings.request_body_timeout_seconds,
    )
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

    @app.get("/api/v1/ping", response_model=Pong, tags=["meta"])
    async def ping() -> Pong:
        """The cheapest route (no database): the reference that benchmarks compare against."""
        return Pong()

    for router in (
        accounts_router,
        users_router,
        challenges_router,
        people_router,
        teams_router,
        submissions_router,
        leaderboard_router,
        insight_router,
        worker_router,
        queue_router,
        baselines_router,
        announcements_router,
        bundles_router,
        teaching_router,
    ):
        app.include_router(router)
    install_web(app)
    install_fact_sheets(environment())
    install_meter(environment())
    app.include_router(insight_pages)
    # Before manage_pages: its /manage/{slug}/{action} would take /manage/{slug}/people.
    app.include_router(manage_people_pages)
    app.include_router(manage_submission_pages)
    app.include_router(manage_news_pages)
    # Before manage_pages: /manage/new and /manage/{slug}/edit are not /manage/{slug}/{action}.
    app.include_router(manage_setup_pages)
    app.include_router(manage_data_pages)
    app.include_router(manage_pages)
    app.include_router(teaching_pages)
    app.include_router(account_pages)
    app.include_router(own_pages)
    return app
