from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from server.challenges import access
from server.challenges.router import ManagedChallenge
from server.challenges.service import get_challenge
from server.db import session_scope
from server.deps import BearerCredentials, SessionDep, get_optional_user
from server.exceptions import Forbidden
from server.leaderboard import service
from server.leaderboard.schemas import Leaderboard
from server.leaderboard.tracks import find_track
from server.models import Submission, Team, TeamMember, User
from server.storage import get_blob_store

router = APIRouter(prefix="/api/v1/challenges/{slug}", tags=["leaderboard"])

CSV_COLUMNS = ["rank", "team", "score", "submissions", "last_submission_at"]
TrackParam = Annotated[
    str | None,
    Query(
        max_length=64,
        description="A parameter-budget track of the challenge (its name): the same board "
        "among the checkpoint submissions whose measured parameter count fits its budget",
        examples=["tiny"],
    ),
]
# A spreadsheet runs a cell that starts with one of these as a formula
# ("=HYPERLINK(...)" as a team name): text cells get a leading apostrophe (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A CSV cell that spreadsheets show as text; numbers and None are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@router.get(
    "/leaderboard",
    response_model=Leaderboard,
    responses={304: {"description": "Not modified since the ETag sent in If-None-Match"}},
)
async def leaderboard(
    slug: str,
    request: Request,
    credentials: BearerCredentials,
    board: Literal["public", "private"] = "public",
    track: TrackParam = None,
) -> Response:
    """Best public score per team; the private board once the challenge is finalized.
    With ``track``, that board among the submissions that fit the track's budget."""
    # A board that anyone may see comes from this process's memory, without a database
    # round trip or a thread hop: pages poll it and whole classrooms refresh it at once.
    cached = None if credentials is not None else service.cached_board(slug, board, track)
    if cached is None:
        cached = await run_in_threadpool(_load_board, request, credentials, slug, board, track)
    headers = {"ETag": cached.etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if cached.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if accepts_gzip(request.headers.get("accept-encoding", "")):
        headers["Content-Encoding"] = "gzip"
        return Response(cached.gzip_body, media_type="application/json", headers=headers)
    return Response(cached.body, media_type="application/json", headers=headers)


def accepts_gzip(accept_encoding: str) -> bool:
    for coding in accept_encoding.lower().split(","):
        name, _, params = coding.partition(";")
        if name.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _load_board(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    slug: str,
    board: str,
    track: str | None = None,
) -> service.CachedBoard:
    """The checked path, as the other routes' dependencies do it (token, drafts, private)."""
    with session_scope() as session:
        viewer = get_optional_user(request, session, credentials)
        challenge = get_challenge(session, slug, viewer)
        found = find_track(challenge.tracks, challenge.slug, track)
        if board == "private" and not service.private_visible(
            challenge, access.can_manage(session, viewer, challenge)
        ):
            raise Forbidden("the private leaderboard is revealed when the challenge is finalized")
        return service.get_cached(session, challenge, board, found)


def board_csv(board: Leaderboard, members: dict[str, list[tuple[str, str]]]) -> str:
    """The board, with each team's members (usernames and student ids, ';'-separated).

    The baseline rows follow the teams, as in the JSON export's ``baselines``: no rank
    (an empty cell), their label ("Baseline · CNN (course)") for a team, their score.
    """
    columns = CSV_COLUMNS + (["public_rank", "move"] if board.board == "private" else [])
    others = board.metrics[1:]  # the other metrics, as extra columns
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*columns, *others, "members", "student_ids"])
    for entry in board.entries:
        data = entry.model_dump(mode="json")
        extra = data.get("extra_scores") or {}
        people = members.get(entry.team, [])
        writer.writerow(
            [spreadsheet_safe(data[c]) for c in columns]
            + [extra.get(m) for m in others]
            + [
                spreadsheet_safe(";".join(u for u, _ in people)),
                spreadsheet_safe(";".join(s for _, s in people)),
            ]
        )
    for baseline in board.baselines:
        row: dict[str, object] = {"team": spreadsheet_safe(baseline.label), "score": baseline.score}
        writer.writerow([row.get(c, "") for c in columns] + [""] * (len(others) + 2))
    return out.getvalue()


def team_members(session: SessionDep, challenge_id: int) -> dict[str, list[tuple[str, str]]]:
    """Team name -> [(username, student id)], in joining order."""
    rows = session.execute(
        select(Team.name, User.username, User.student_id)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .join(User, User.id == TeamMember.user_id)
        .where(Team.challenge_id == challenge_id)
        .order_by(Team.id, TeamMember.joined_at)
    ).tuples()
    members: dict[str, list[tuple[str, str]]] = {}
    for team, username, student_id in rows:
        members.setdefault(team, []).append((username, student_id or ""))
    return members


@router.get(
    "/export",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
    response_class=Response,
)
def export(
    challenge: ManagedChallenge,
    session: SessionDep,
    board: Literal["public", "private"] = "public",
    format: Literal["csv", "json"] = "csv",
    track: TrackParam = None,
) -> Response:
    """Managers: a leaderboard as CSV or JSON (private before finalization too), with the
    members of each team (usernames and student ids) and the baseline rows, unranked
    (CSV: after the teams, an empty rank). Disqualified teams are not ranked.
    With ``track``, that track's board."""
    found = find_track(challenge.tracks, challenge.slug, track)
    result = service.get_board(session, challenge, board, found)
    members = team_members(session, challenge.id)
    part = f"{board}-{found.name}" if found is not None else board
    name = f"{challenge.slug}-{part}-leaderboard.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "json":
        data = result.model_dump(mode="json")
        for entry in data["entries"]:
            entry["members"] = [
                {"username": u, "student_id": s or None} for u, s in members.get(entry["team"], [])
            ]
        return Response(json.dumps(data), media_type="application/json", headers=headers)
    return Response(
        board_csv(result, members), media_type="text/csv; charset=utf-8", headers=headers
    )


@router.get(
    "/submissions-archive",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
def submissions_archive(challenge: ManagedChallenge, session: SessionDep) -> StreamingResponse:
    """Organizers: every submission file in one zip, with a manifest.csv."""
    rows = session.execute(
        select(Submission, Team.name)
        .outerjoin(Team, Team.id == Submission.team_id)  # baselines have no team
        .where(Submission.challenge_id == challenge.id)
        .order_by(Submission.id)
    ).all()
    store = get_blob_store()
    entries: list[dict[str, Any]] = [
        {
            # Entry names are built from ids only: nothing a team typed reaches a path.
            "path": f"submissions/{s.id:06d}{_extension(s.file_name)}",
            "blob": s.file_sha256,
            "manifest": {
                "id": s.id,
                "team": team if team is not None else "(baseline)",
                "kind": s.kind,
                "status": s.status,
                "public_score": s.public_score,
                "private_score": s.private_score,
                "created_at": s.created_at.isoformat(),
                "file_name": s.file_name,
                "message": s.message,
            },
        }
        for s, team in rows
    ]

    def generate() -> Iterator[bytes]:
        buffer = _ChunkBuffer()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            manifest = io.StringIO()
            if entries:
                writer = csv.DictWriter(manifest, fieldnames=list(entries[0]["manifest"]))
                writer.writeheader()
                for entry in entries:
                    writer.writerow({k: spreadsheet_safe(v) for k, v in entry["manifest"].items()})
            archive.writestr("manifest.csv", manifest.getvalue())
            archive.writestr(
                "manifest.json", json.dumps([e["manifest"] for e in entries], indent=1)
            )
            yield buffer.take()
            for entry in entries:
                archive.write(store.path_for(str(entry["blob"])), str(entry["path"]))
                yield buffer.take()
        yield buffer.take()

    return StreamingResponse(
        generate(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{challenge.slug}-submissions.zip"'},
    )


def _extension(name: str) -> str:
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    return f".{suffix}" if suffix.isalnum() and len(suffix) <= 12 else ""


class _ChunkBuffer(io.RawIOBase):
    """A write-only stream whose content is taken out chunk by chunk (streaming zip)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data
