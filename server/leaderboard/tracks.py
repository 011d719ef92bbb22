"""Parameter-budget tracks: a board of its own for each budget a challenge declares.

A track is ``{"name": "tiny", "max_parameters": 10000}``. Its board is the
challenge's board (public, or private once finalized: the same rules) computed
on the checkpoint submissions whose parameter count, measured by the server
when it evaluated them, is at most the budget: ``leaderboard.board.compute``
with a budget, never a ranking of its own. Submissions without a measured count
(CSV files, failed checkpoints) are on no track. See docs/teaching.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from server.exceptions import NotFound

TRACK_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
MAX_TRACKS = 8
MAX_BUDGET = 10**12


class Track(BaseModel):
    """One parameter budget: a board among the checkpoints that fit it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=TRACK_NAME_PATTERN,
        examples=["tiny"],
        description="Lower-case letters, digits and '-', at most 32 (used in URLs)",
    )
    max_parameters: int = Field(
        ge=1, le=MAX_BUDGET, examples=[10000], description="The largest parameter count that fits"
    )


def _distinct(tracks: list[Track]) -> list[Track]:
    names = [t.name for t in tracks]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"track names must be distinct; repeated: {', '.join(repeated)}")
    return tracks


Tracks = Annotated[
    list[Track],
    Field(
        max_length=MAX_TRACKS,
        description="Parameter-budget tracks: each is a board (public, and private after "
        "finalize) among the checkpoint submissions whose measured parameter count fits",
        examples=[[{"name": "tiny", "max_parameters": 10000}]],
    ),
    AfterValidator(_distinct),
]


@dataclass(frozen=True)
class BoardTrack:
    """A track as the board cache keys and computes it."""

    name: str
    max_parameters: int

    @property
    def key(self) -> str:
        # The budget is part of the key: a host who changes it gets a new board at once.
        return f"{self.name}.{self.max_parameters}"


def declared(tracks: list[dict[str, Any]] | None) -> list[BoardTrack]:
    """A challenge's stored ``tracks`` column, in its order."""
    return [BoardTrack(str(t["name"]), int(t["max_parameters"])) for t in tracks or []]


def find_track(
    tracks: list[dict[str, Any]] | None, slug: str, name: str | None
) -> BoardTrack | None:
    """The track called ``name`` (None: the full board), or NotFound naming the known ones."""
    if name is None:
        return None
    known = declared(tracks)
    if len(name) > 64:
        name = name[:64] + "…"
    for track in known:
        if track.name == name:
            return track
    if not known:
        raise NotFound(f"challenge '{slug}' has no track '{name}': it declares no tracks")
    names = ", ".join(t.name for t in known)
    raise NotFound(f"challenge '{slug}' has no track '{name}'; its tracks: {names}")
