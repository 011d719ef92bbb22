"""Challenges: lifecycle, public files, hidden solution and inputs."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from server.challenges import access
from server.challenges.schemas import (
    ChallengeCreate,
    ChallengeRead,
    ChallengeUpdate,
    HiddenInputsRead,
    SolutionRead,
    stored_metrics,
)
from server.exceptions import Conflict, Forbidden, Invalid, NotFound
from server.insight.webhook_urls import merge_webhooks
from server.leaderboard.bump import bump_board
from server.models import (
    Challenge,
    ChallengeFile,
    ChallengeState,
    Submission,
    Team,
    User,
    utcnow,
)
from server.scoring.metrics import get_metric
from server.scoring.solution import SolutionError, load_solution
from server.storage import BlobStore, StoredBlob, get_blob_store
from server.submissions.quota import limits_of, stored_limits

FILE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def is_accepting(challenge: Challenge, now: datetime | None = None) -> bool:
    """Whether the server clock says submissions are accepted right now."""
    now = now or utcnow()
    if challenge.state != ChallengeState.open:
        return False
    if challenge.opens_at is not None and now < challenge.opens_at:
        return False
    return challenge.closes_at is None or now < challenge.closes_at


def refresh_state(challenge: Challenge, now: datetime | None = None) -> None:
    """Closing follows closes_at: an open challenge past its deadline is closed."""
    now = now or utcnow()
    if (
        challenge.state == ChallengeState.open
        and challenge.closes_at is not None
        and now >= challenge.closes_at
    ):
        challenge.state = ChallengeState.closed


def get_challenge(session: Session, slug: str, viewer: User | None) -> Challenge:
    """The challenge, or 404 when it does not exist *for this viewer* (see access)."""
    challenge = session.scalar(select(Challenge).where(Challenge.slug == slug))
    if challenge is None or not access.can_view(session, viewer, challenge):
        # The same answer whether the slug was never created or is hidden from the viewer.
        raise NotFound.of(f"challenge '{slug}'")
    refresh_state(challenge)
    return challenge


def get_managed(session: Session, slug: str, user: User) -> Challenge:
    """A challenge the user manages; 404 when it cannot see it, 403 when it only sees it."""
    challenge = get_challenge(session, slug, user)
    if not access.can_manage(session, user, challenge):
        raise Forbidden("only this challenge's creator, its hosts and admins may manage it")
    return challenge


def list_challenges(session: Session, viewer: User | None) -> list[Challenge]:
    """The challenges listed for this viewer (not unlisted ones; private ones it may see)."""
    query = select(Challenge).order_by(Challenge.created_at.desc(), Challenge.id.desc())
    challenges = [c for c in session.scalars(query) if access.is_listed(session, viewer, c)]
    for challenge in challenges:
        refresh_state(challenge)
    return challenges


def counts(session: Session, challenge_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(teams with at least one member, submissions) per challenge."""
    if not challenge_ids:
        return {}
    teams = dict(
        session.execute(
            select(Team.challenge_id, func.count(Team.id))
            .where(Team.challenge_id.in_(challenge_ids))
            .group_by(Team.challenge_id)
        )
        .tuples()
        .all()
    )
    submissions = dict(
        session.execute(
            select(Submission.challenge_id, func.count(Submission.id))
            .where(Submission.challenge_id.in_(challenge_ids), Submission.team_id.is_not(None))
            .group_by(Submission.challenge_id)
        )
        .tuples()
        .all()
    )
    return {cid: (teams.get(cid, 0), submissions.get(cid, 0)) for cid in challenge_ids}


def to_read(challenge: Challenge, team_and_submission_counts: tuple[int, int]) -> ChallengeRead:
    teams_count, submissions_count = team_and_submission_counts
    return ChallengeRead.model_validate(
        {
            **{
                c: getattr(challenge, c)
                for c in ChallengeRead.model_fields
                if hasattr(challenge, c)
            },
            "limits": limits_of(challenge),
            "greater_is_better": get_metric(challenge.metric).greater_is_better,
            "accepting_submissions": is_accepting(challenge),
            "has_solution": challenge.solution_sha256 is not None,
            "has_hidden_inputs": challenge.hidden_inputs_sha256 is not None,
            "teams_count": teams_count,
            "submissions_count": submissions_count,
        }
    )


def read_one(session: Session, challenge: Challenge) -> ChallengeRead:
    return to_read(challenge, counts(session, [challenge.id])[challenge.id])


def create_challenge(session: Session, body: ChallengeCreate, organizer: User) -> Challenge:
    if session.scalar(select(Challenge.id).where(Challenge.slug == body.slug)):
        raise Conflict(f"a challenge with slug '{body.slug}' already exists")
    data = body.model_dump()
    data["webhooks"] = merge_webhooks({}, data.get("webhooks") or {})
    data |= stored_limits(data.pop("limits"))
    data["extra_metrics"] = (data.pop("metrics") or [])[1:]
    challenge = Challenge(**data, state=ChallengeState.draft, created_by_id=organizer.id)
    session.add(challenge)
    session.flush()
    return challenge


def update_challenge(
    session: Session,
    challenge: Challenge,
    body: ChallengeUpdate,
    store: BlobStore | None = None,
) -> Challenge:
    if challenge.state == ChallengeState.finalized:
        raise Conflict("the challenge is finalized and can no longer change")
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "limits" in changes:
        changes.pop("daily_submission_limit", None)  # folded into limits.per_day
        changes |= stored_limits(changes.pop("limits"))
    new_state = changes.pop("state", None)
    try:
        changes |= stored_metrics(changes, challenge.extra_metrics or [])
    except ValueError as error:
        raise Invalid(f"{error}; change metrics instead") from None
    metric_changes = "metric" in changes and changes["metric"] != challenge.metric
    if metric_changes and challenge.solution_sha256 is not None:
        # The stored solution was validated for the old metric: check it again.
        store = store or get_blob_store()
        _parse_solution(store, challenge.solution_sha256, changes["metric"])
    lowered_picks = changes.get("final_selection_count") is not None and (
        changes["final_selection_count"] < challenge.final_selection_count
    )
    for key, value in changes.items():
        if key == "checkpoint_spec" and value is not None:
            value = dict(value)
        if key == "webhooks":
            value = merge_webhooks(challenge.webhooks, value or {})
        setattr(challenge, key, value)
    opens_at, closes_at = challenge.opens_at, challenge.closes_at
    if opens_at and closes_at and closes_at <= opens_at:
        raise Invalid("closes_at must be after opens_at")
    if new_state is not None and new_state != challenge.state:
        _transition(challenge, new_state)
    if lowered_picks:
        trim_final_picks(session, challenge)
    refresh_state(challenge)
    bump_board(session, challenge.id)
    return challenge


def trim_final_picks(session: Session, challenge: Challenge) -> int:
    """Unselect each team's picks beyond ``final_selection_count``; returns how many.

    A team keeps its best public picks (ties: the earliest), the rule the
    private board uses to fill in for a team that chose none. The board also
    counts no more picks than that, whatever a race left selected.
    """
    greater = get_metric(challenge.metric).greater_is_better
    best_first = Submission.public_score.desc() if greater else Submission.public_score.asc()
    picks = session.execute(
        select(Submission.id, Submission.team_id)
        .where(Submission.challenge_id == challenge.id, Submission.selected_for_final.is_(True))
        .order_by(Submission.team_id, best_first.nulls_last(), Submission.created_at, Submission.id)
    ).tuples()
    kept: dict[int | None, int] = {}
    dropped = []
    for submission_id, team_id in picks:
        kept[team_id] = kept.get(team_id, 0) + 1
        if kept[team_id] > challenge.final_selection_count:
            dropped.append(submission_id)
    if dropped:
        session.execute(
            update(Submission)
            .where(Submission.id.in_(dropped))
            .values(selected_for_final=False)
            .execution_options(synchronize_session=False)
        )
    return len(dropped)


def _transition(challenge: Challenge, new_state: str) -> None:
    if new_state == ChallengeState.open:
        if challenge.solution_sha256 is None:
            raise Conflict("upload a solution (PUT .../solution) before opening the challenge")
        if "checkpoint" in challenge.submission_kinds and challenge.hidden_inputs_sha256 is None:
            raise Conflict(
                "checkpoint submissions are allowed: upload hidden inputs "
                "(PUT .../hidden-inputs) before opening the challenge"
            )
        if challenge.closes_at is not None and challenge.closes_at <= utcnow():
            raise Conflict("closes_at is in the past: move the deadline before reopening")
    elif new_state == ChallengeState.draft and challenge.state != ChallengeState.draft:
        raise Conflict("a challenge that has been opened cannot go back to draft")
    challenge.state = new_state


def finalize(session: Session, challenge: Challenge) -> Challenge:
    if challenge.state == ChallengeState.finalized:
        raise Conflict("the challenge is already finalized")
    if challenge.state != ChallengeState.closed:
        raise Conflict(
            'close the challenge first (PATCH with {"state": "closed"}) or wait for closes_at'
        )
    unfinished = session.scalar(
        select(func.count(Submission.id)).where(
            Submission.challenge_id == challenge.id,
            Submission.status.in_(["queued", "running"]),
        )
    )
    if unfinished:
        raise Conflict(f"{unfinished} submissions are still being scored; finalize when done")
    challenge.state = ChallengeState.finalized
    challenge.finalized_at = utcnow()
    bump_board(session, challenge.id)
    return challenge


def check_file_name(name: str) -> None:
    if not FILE_NAME_PATTERN.match(name) or ".." in name:
        raise Invalid(
            "file name must be 1-200 characters of letters, digits, '.', '_' or '-', "
            "start with a letter or digit, and contain no '..'"
        )


def put_file(session: Session, challenge: Challenge, name: str, blob: StoredBlob) -> ChallengeFile:
    existing = session.scalar(
        select(ChallengeFile).where(
            ChallengeFile.challenge_id == challenge.id, ChallengeFile.name == name
        )
    )
    if existing is None:
        existing = ChallengeFile(challenge_id=challenge.id, name=name, sha256="", size=0)
        session.add(existing)
    blob = blob.commit()  # a staged upload joins the store only now
    existing.sha256 = blob.sha256
    existing.size = blob.size
    existing.created_at = utcnow()
    session.flush()
    return existing


def get_file(session: Session, challenge: Challenge, name: str) -> ChallengeFile:
    file = session.scalar(
        select(ChallengeFile).where(
            ChallengeFile.challenge_id == challenge.id, ChallengeFile.name == name
        )
    )
    if file is None:
        raise NotFound.of(f"file '{name}'")
    return file


def _parse_solution(store: BlobStore, sha256: str, metric: str, path: Path | None = None) -> Any:
    try:
        return load_solution(path or store.path_for(sha256), metric, sha256)
    except SolutionError as error:
        raise Invalid(f"solution rejected: {error}") from None


def put_solution(
    session: Session, challenge: Challenge, blob: StoredBlob, store: BlobStore
) -> SolutionRead:
    if challenge.state == ChallengeState.finalized:
        raise Conflict("the challenge is finalized; its solution can no longer change")
    solution = _parse_solution(store, blob.sha256, challenge.metric, blob.path)
    if challenge.hidden_inputs_sha256 is not None:
        rows = _npy_rows(store, challenge.hidden_inputs_sha256)
        if rows != len(solution.ids):
            raise Invalid(
                f"the solution has {len(solution.ids)} rows but the hidden inputs have {rows}; "
                "their rows must align"
            )
    blob = blob.commit()  # accepted: a staged upload joins the store only now
    challenge.solution_sha256 = blob.sha256
    challenge.solution_target = solution.target
    challenge.solution_rows = len(solution.ids)
    return SolutionRead(
        sha256=blob.sha256,
        rows=len(solution.ids),
        public_rows=int(solution.public_mask.sum()),
        private_rows=int((~solution.public_mask).sum()),
        target=solution.target,
    )


NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
NPY_ADVICE = "upload one array saved with numpy.save (a .npy file, no pickles)"


def load_npy(path: Path) -> np.ndarray:
    """Memory-map a .npy array; anything else (an .npz archive, a pickle) is a 422."""
    with open(path, "rb") as source:
        magic = source.read(len(NPY_MAGIC))
    if magic.startswith(ZIP_MAGIC[:2]):
        raise Invalid(
            "hidden inputs are a zip (.npz) archive, not an array: "
            f"{NPY_ADVICE}, e.g. numpy.save('hidden.npy', archive['inputs'])"
        )
    if magic != NPY_MAGIC:
        raise Invalid(f"hidden inputs are not a .npy array: {NPY_ADVICE}")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise Invalid(f"hidden inputs could not be read ({error}): {NPY_ADVICE}") from None
    if not isinstance(array, np.ndarray) or array.ndim == 0:
        raise Invalid(f"hidden inputs must be an array with one row per input: {NPY_ADVICE}")
    return array


def _npy_rows(store: BlobStore, sha256: str) -> int:
    return int(load_npy(store.path_for(sha256)).shape[0])


def put_hidden_inputs(
    session: Session, challenge: Challenge, blob: StoredBlob, store: BlobStore
) -> HiddenInputsRead:
    """Validate an .npy array of hidden inputs against the declared spec."""
    if challenge.state == ChallengeState.finalized:
        raise Conflict("the challenge is finalized; its hidden inputs can no longer change")
    array = load_npy(blob.path)
    spec = challenge.checkpoint_spec or {}
    expected_shape = list(spec.get("input_shape", [1, 28, 28]))
    expected_dtype = spec.get("input_dtype", "float32")
    if list(array.shape[1:]) != expected_shape:
        raise Invalid(
            f"hidden inputs have rows of shape {tuple(array.shape[1:])}, "
            f"expected {tuple(expected_shape)} (checkpoint_spec.input_shape)"
        )
    if str(array.dtype) != expected_dtype:
        raise Invalid(
            f"hidden inputs have dtype {array.dtype}, expected {expected_dtype} "
            "(checkpoint_spec.input_dtype)"
        )
    if challenge.solution_rows is not None and array.shape[0] != challenge.solution_rows:
        raise Invalid(
            f"hidden inputs have {array.shape[0]} rows but the solution has "
            f"{challenge.solution_rows}; row i must be the input of the solution's i-th id"
        )
    blob = blob.commit()  # accepted: a staged upload joins the store only now
    challenge.hidden_inputs_sha256 = blob.sha256
    return HiddenInputsRead(
        sha256=blob.sha256,
        rows=int(array.shape[0]),
        shape=[int(s) for s in array.shape],
        dtype=str(array.dtype),
    )
