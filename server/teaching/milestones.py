"""Course milestones: where a team stands against the hosts' baselines.

The baselines (``server.baselines``) are the course's milestones: "beats the
MLP baseline; 0.004 points to the CNN baseline". A team's best public score is
compared with each baseline's public score; when the gap is no larger than the
half-width of the team's public bootstrap interval (95%), the two cannot be
told apart on the public rows and the team is told it is "within noise" of that
baseline instead of ahead or behind. Public scores only, before and after
finalize: a milestone never says anything of the private rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from server.leaderboard.schemas import Leaderboard, LeaderboardEntry

Verdict = Literal["beats", "within_noise", "below"]


@dataclass(frozen=True)
class Milestone:
    baseline: str  # the baseline's name, e.g. "CNN (course)"
    baseline_score: float
    gap: float  # how far the team is ahead (negative: behind), in the metric's units
    verdict: Verdict
    words: str


def _amount(value: float) -> str:
    return f"{abs(value):.3g}"


def judge(
    score: float, ci_halfwidth: float | None, baseline: str, baseline_score: float, greater: bool
) -> Milestone:
    """One baseline against the team's public score and its bootstrap half-width."""
    gap = score - baseline_score if greater else baseline_score - score
    name = f"the {baseline} baseline"
    if gap == 0 or (ci_halfwidth is not None and abs(gap) <= ci_halfwidth):
        ahead = "ahead" if gap > 0 else "behind"
        detail = (
            f" ({_amount(gap)} {ahead}, ± {_amount(ci_halfwidth)})" if gap and ci_halfwidth else ""
        )
        return Milestone(
            baseline, baseline_score, gap, "within_noise", f"within noise of {name}{detail}"
        )
    if gap > 0:
        return Milestone(baseline, baseline_score, gap, "beats", f"beats {name}")
    return Milestone(baseline, baseline_score, gap, "below", f"{_amount(gap)} points to {name}")


def milestones(
    score: float | None,
    ci_halfwidth: float | None,
    baselines: Iterable[tuple[str, float]],
    greater: bool,
) -> list[Milestone]:
    """Each baseline (name, public score), the easiest first; none without a team score."""
    if score is None:
        return []
    ordered = sorted(baselines, key=lambda b: b[1] if greater else -b[1])
    return [judge(score, ci_halfwidth, name, value, greater) for name, value in ordered]


def sentence(found: list[Milestone]) -> str:
    """ "Beats the MLP baseline; 0.004 points to the CNN baseline." (empty: no baselines)"""
    if not found:
        return ""
    text = "; ".join(m.words for m in found)
    return text[0].upper() + text[1:] + "."


def passed(found: list[Milestone]) -> Milestone | None:
    """The hardest baseline the team beats outright (not within noise), if any."""
    beaten = [m for m in found if m.verdict == "beats"]
    return beaten[-1] if beaten else None


@dataclass(frozen=True)
class Report:
    items: list[Milestone]
    sentence: str
    passed: Milestone | None


def for_entry(entry: LeaderboardEntry | None, board: Leaderboard) -> Report | None:
    """A public board's entry against that board's baselines (None: off the board, or no
    baselines)."""
    if entry is None or board.board != "public":
        return None
    pairs = [(b.name, b.score) for b in board.baselines]
    found = milestones(entry.score, entry.ci_halfwidth, pairs, board.greater_is_better)
    return Report(found, sentence(found), passed(found)) if found else None
