"""Routes: the worker API (worker token) and the organizers' view of the queue."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from server.challenges import access
from server.challenges.router import ManagedChallenge
from server.deps import Organizer, SessionDep, SettingsDep, WorkerAuth
from server.exceptions import NotFound
from server.models.base import RowId
from server.storage import get_blob_store
from server.submissions.requeue import requeue_failed
from server.workers import service
from server.workers.schemas import (
    AttemptRef,
    ClaimCreate,
    HeartbeatRead,
    JobRead,
    QueueRead,
    RequeueCreate,
    RequeueRead,
    ResultCreate,
    ResultRead,
)

worker_router = APIRouter(
    prefix="/api/v1/worker",
    tags=["workers"],
    dependencies=[WorkerAuth],
)
queue_router = APIRouter(prefix="/api/v1", tags=["workers"])


@worker_router.post("/submissions/{submission_id}/claim", response_model=JobRead)
def claim(submission_id: RowId, body: ClaimCreate, settings: SettingsDep) -> object:
    """Start an attempt on a queued submission; 409 when it is not queued (nothing to do)."""
    return service.claim_job(submission_id, body.worker, settings)


@worker_router.post("/submissions/{submission_id}/heartbeat", response_model=HeartbeatRead)
def heartbeat(submission_id: RowId, body: AttemptRef, settings: SettingsDep) -> object:
    """Extend the attempt's lease; 409 once it is no longer current (stop working on it)."""
    return service.heartbeat(submission_id, body.attempt, settings)


@worker_router.post("/submissions/{submission_id}/result", response_model=ResultRead)
def result(submission_id: RowId, body: ResultCreate) -> object:
    """Record the attempt's result once (repeats change nothing); 409 for a stale attempt."""
    return service.post_result(submission_id, body)


@worker_router.get(
    "/blobs/{sha256}",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def blob(sha256: str) -> FileResponse:
    """A stored file by sha256: submissions, solutions, hidden inputs."""
    store = get_blob_store()
    try:
        path = store.path_for(sha256)
    except ValueError:
        raise NotFound.of("blob") from None
    if not path.is_file():
        raise NotFound.of("blob")
    return FileResponse(path, media_type="application/octet-stream")


@queue_router.get("/queue", response_model=QueueRead)
def server_queue(session: SessionDep, organizer: Organizer) -> object:
    """The scoring queue across the challenges you manage (admins: all): counts, oldest
    waiting job, who runs what. Positions are server-wide."""
    return service.queue_summary(session, managed=access.managed_ids(session, organizer))


@queue_router.get("/challenges/{slug}/queue", response_model=QueueRead)
def challenge_queue(challenge: ManagedChallenge, session: SessionDep) -> object:
    """The scoring queue of one challenge (positions are server-wide)."""
    return service.queue_summary(session, challenge)


@queue_router.post("/challenges/{slug}/queue/requeue", response_model=RequeueRead)
def requeue(
    challenge: ManagedChallenge, session: SessionDep, body: RequeueCreate | None = None
) -> object:
    """Queue again submissions that failed through a platform error (not the team's
    fault): the ids given, or every one. A 409 names ids that are not such failures."""
    wanted = body.submission_ids if body is not None else None
    return RequeueRead(requeued=requeue_failed(session, challenge, wanted))
