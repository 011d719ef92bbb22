"""The class atlas: what the class's fact sheets say about which choices scored well.

Every chart groups the scored team submissions that carry a fact sheet and
gives, for every group, the number of submissions behind it and their mean
score. Before finalize only public scores are used (the public→private gap
appears only once the challenge is finalized), so the atlas never reveals a
private value early. Hosts may keep the atlas from participants until
finalize (``atlas_visibility``): :func:`check_visible`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.challenges import access
from server.exceptions import Forbidden
from server.models import (
    AtlasVisibility,
    Challenge,
    ChallengeState,
    Submission,
    SubmissionStatus,
    User,
)
from server.scoring.metrics import get_metric
from server.submissions.metadata import is_number


class AtlasGroup(BaseModel):
    key: str
    count: int
    mean: float


class AtlasChart(BaseModel):
    name: str
    title: str
    value: str  # what ``mean`` is the mean of
    groups: list[AtlasGroup]
    reading: str


class Atlas(BaseModel):
    challenge: str
    metric: str
    greater_is_better: bool
    finalized: bool
    submissions: int
    charts: list[AtlasChart]


Row = tuple[dict[str, Any], float, float | None, int | None]  # metadata, public, private, params


KeyOf = Callable[[dict[str, Any], int | None], str | None]


def _num(value: object) -> float | None:
    return float(value) if is_number(value) else None  # type: ignore[arg-type]


def _decade(value: float) -> str:
    return f"1e{math.floor(math.log10(value))}"


def _model(meta: dict[str, Any], _params: int | None) -> str | None:
    return meta["model"].strip().lower() or None if isinstance(meta.get("model"), str) else None


def _activation(meta: dict[str, Any], _params: int | None) -> str | None:
    value = meta.get("activation")
    return value.strip().lower() or None if isinstance(value, str) else None


def _depth(meta: dict[str, Any], _params: int | None) -> str | None:
    sizes = meta.get("hidden_sizes")
    return str(len(sizes)) if isinstance(sizes, list) else None


def _width(meta: dict[str, Any], _params: int | None) -> str | None:
    sizes = meta.get("hidden_sizes")
    return str(max(sizes)) if isinstance(sizes, list) and sizes else None


def _parameters(meta: dict[str, Any], params: int | None) -> str | None:
    return _decade(params) if params else None


def _learning_rate(meta: dict[str, Any], _params: int | None) -> str | None:
    rate = _num(meta.get("learning_rate"))
    return _decade(rate) if rate is not None and rate > 0 else None


def _uses_dropout(meta: dict[str, Any], _params: int | None) -> str:
    rate = _num(meta.get("dropout"))
    return "with dropout" if rate is not None and rate > 0 else "without dropout"


def _groups(rows: list[tuple[str, float]], numeric: bool = False) -> list[AtlasGroup]:
    sums: dict[str, list[float]] = defaultdict(list)
    for key, value in rows:
        sums[key].append(value)
    keys = sorted(sums, key=float) if numeric else sorted(sums)
    return [AtlasGroup(key=k, count=len(sums[k]), mean=sum(sums[k]) / len(sums[k])) for k in keys]


def _reading(groups: list[AtlasGroup], greater: bool, what: str) -> str:
    if len(groups) < 2:
        return f"Not enough variety yet: every fact sheet has the same {what}."
    best = max(groups, key=lambda g: g.mean if greater else -g.mean)
    worst = min(groups, key=lambda g: g.mean if greater else -g.mean)
    return (
        f"Submissions with {what} {best.key} scored best on average ({best.mean:.4g}, "
        f"{best.count} submissions); {worst.key} scored worst ({worst.mean:.4g}, "
        f"{worst.count})."
    )


def _gap_reading(groups: list[AtlasGroup]) -> str:
    by_key = {g.key: g for g in groups}
    with_, without = by_key.get("with dropout"), by_key.get("without dropout")
    if with_ is None or without is None:
        return "Not enough variety yet: need submissions both with and without dropout."
    difference = without.mean - with_.mean
    less = "less" if difference >= 0 else "more"
    return (
        f"Teams using dropout lost {abs(difference):.4g} points {less} between public and "
        f"private ({with_.count} submissions with dropout, {without.count} without)."
    )


CATEGORICAL: list[
    tuple[str, str, str, Callable[[dict[str, Any], int | None], str | None], bool]
] = [
    ("model", "Score by model family", "model family", _model, False),
    ("activation", "Score by activation", "activation", _activation, False),
    ("depth", "Score by depth (hidden layers)", "depth", _depth, True),
    ("width", "Score by width (widest hidden layer)", "width", _width, True),
    ("parameters", "Score by parameters (measured, per decade)", "parameters", _parameters, True),
    ("learning_rate", "Score by learning rate (per decade)", "learning rate", _learning_rate, True),
]


def _rows(session: Session, challenge: Challenge, finalized: bool) -> list[Row]:
    query = select(Submission).where(
        Submission.challenge_id == challenge.id,
        Submission.team_id.is_not(None),
        Submission.status == SubmissionStatus.scored,
        Submission.public_score.is_not(None),
        Submission.run_metadata.is_not(None),
    )
    rows: list[Row] = []
    for s in session.scalars(query):
        if isinstance(s.run_metadata, dict) and s.public_score is not None:
            private = s.private_score if finalized else None
            rows.append((s.run_metadata, s.public_score, private, s.parameter_count))
    return rows


def build_atlas(challenge: Challenge, rows: Iterable[Row]) -> Atlas:
    """The atlas of ``rows``; private scores are read only once ``challenge`` is finalized."""
    greater = get_metric(challenge.metric).greater_is_better
    finalized = challenge.state == ChallengeState.finalized
    rows = list(rows)
    charts = []
    for name, title, what, key_of, numeric in CATEGORICAL:
        keyed = [(key, public) for meta, public, _, params in rows if (key := key_of(meta, params))]
        groups = _groups(keyed, numeric)
        charts.append(
            AtlasChart(
                name=name,
                title=title,
                value="public score",
                groups=groups,
                reading=_reading(groups, greater, what),
            )
        )
    if finalized:
        sign = 1.0 if greater else -1.0
        gaps = [
            (_uses_dropout(meta, params), sign * (public - private))
            for meta, public, private, params in rows
            if private is not None
        ]
        groups = _groups(gaps)
        charts.append(
            AtlasChart(
                name="dropout_gap",
                title="Dropout vs the public→private gap",
                value="points lost from public to private",
                groups=groups,
                reading=_gap_reading(groups),
            )
        )
    return Atlas(
        challenge=challenge.slug,
        metric=challenge.metric,
        greater_is_better=greater,
        finalized=finalized,
        submissions=len(rows),
        charts=charts,
    )


HIDDEN_UNTIL_FINALIZE = (
    "the class atlas of this challenge opens once the challenge is finalized "
    "(its hosts set atlas_visibility to 'after_finalize')"
)


def is_visible(session: Session, viewer: User | None, challenge: Challenge) -> bool:
    """Live atlases to everyone who sees the challenge; the others to its hosts until
    finalize, then to everyone."""
    if challenge.atlas_visibility != AtlasVisibility.after_finalize:
        return True
    if challenge.state == ChallengeState.finalized:
        return True
    return access.can_manage(session, viewer, challenge)


def check_visible(session: Session, viewer: User | None, challenge: Challenge) -> None:
    if not is_visible(session, viewer, challenge):
        raise Forbidden(HIDDEN_UNTIL_FINALIZE)


def atlas(session: Session, challenge: Challenge) -> Atlas:
    finalized = challenge.state == ChallengeState.finalized
    return build_atlas(challenge, _rows(session, challenge, finalized))
