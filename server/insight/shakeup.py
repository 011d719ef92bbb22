"""The shake-up: public rank against private rank, once the private board is out."""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from server.insight.schemas import ShakeUp, ShakeUpEntry
from server.leaderboard.service import get_board
from server.models import Challenge, utcnow
from server.scoring.metrics import get_metric

MIN_TEAMS_FOR_CORRELATION = 3

EXPLANATION = (
    "The public leaderboard scores every submission on the same public rows, again and "
    "again. Choosing models by that number fits them to those rows' noise as well as to "
    "the task: a team that tunes against the public board climbs it without getting "
    "better at the task, and slides back on the private rows, which nobody saw. Teams "
    "whose score holds on the private rows trusted their own validation split; a big gap "
    "means the public score was partly luck or overfitting."
)


def shake_up(session: Session, challenge: Challenge) -> ShakeUp:
    """Every team's public and private rank and score (callers check who may see it)."""
    greater = get_metric(challenge.metric).greater_is_better
    public = {e.team: e for e in get_board(session, challenge, "public").entries}
    private = get_board(session, challenge, "private").entries
    order = [e.team for e in private] + [
        team for team in public if team not in {e.team for e in private}
    ]
    private_by_team = {e.team: e for e in private}
    entries = []
    for team in order:
        pub, priv = public.get(team), private_by_team.get(team)
        gap = None
        if pub is not None and priv is not None:
            gap = (pub.score - priv.score) if greater else (priv.score - pub.score)
        entries.append(
            ShakeUpEntry(
                team=team,
                public_rank=pub.rank if pub else None,
                private_rank=priv.rank if priv else None,
                public_score=pub.score if pub else None,
                private_score=priv.score if priv else None,
                move=(pub.rank - priv.rank) if pub and priv else None,
                gap=gap,
            )
        )
    ranked = [e for e in entries if e.public_rank is not None and e.private_rank is not None]
    correlation = None
    if len(ranked) >= MIN_TEAMS_FOR_CORRELATION:
        # Spearman's rho: the ranks are distinct, so it is Pearson's r on them.
        ranks = np.array([[e.public_rank, e.private_rank] for e in ranked], dtype=np.float64)
        ranks = np.argsort(np.argsort(ranks, axis=0), axis=0).astype(np.float64)
        correlation = float(np.corrcoef(ranks[:, 0], ranks[:, 1])[0, 1])
    gaps = [e.gap for e in entries if e.gap is not None]
    return ShakeUp(
        challenge=challenge.slug,
        metric=challenge.metric,
        greater_is_better=greater,
        state=challenge.state,
        generated_at=utcnow(),
        rank_correlation=correlation,
        mean_gap=float(np.mean(gaps)) if gaps else None,
        explanation=EXPLANATION,
        entries=entries,
    )
