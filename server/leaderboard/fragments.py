"""A public board's JSON joined from each team's kept fragment, without the whole model.

At 10,000 teams, building the ``Leaderboard`` object and serializing it cost about
190 ms of CPU per new version, almost all of it for rows that did not move. Here
each team's entry is serialized once, by pydantic itself (so the bytes are
exactly the model's: the same keys, order and number formats), with rank 0 and
no tie mark, and cut into two fragments around those two values; a new version
re-serializes only the teams that changed, and the body is the head of the
board, the fragments joined with each entry's rank and tie mark, and the tail.

The cuts are found by searching the serialized JSON for a key: in JSON a bare
``"`` only ever delimits a string (inside one it is escaped, ``\\"``), so a
pattern that starts and ends with bare quotes around a key can match nothing a
team typed. ``tests/server/test_incremental_board.py`` checks the joined body
against ``model_dump_json`` of the board rebuilt from scratch, byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

from pydantic import TypeAdapter

from .schemas import Leaderboard, LeaderboardEntry

Fragment = tuple[bytes, bytes]  # before the tie mark's value, after it

_ENTRIES = TypeAdapter(list[LeaderboardEntry])
_FIRST = b'[{"rank":0,'
_BETWEEN = b'},{"rank":0,'
_TIED = b'"tied_with_next":'
_TIED_NULL = _TIED + b"null"
_MARKS = {None: b"null", True: b"true", False: b"false"}
_EMPTY = b'"entries":[]'
_ranks: list[bytes] = []  # index r: b',{"rank":r', grown as boards grow


def cut(entries: Sequence[LeaderboardEntry]) -> list[Fragment]:
    """Each entry's fragments; every entry has rank 0 and no tie mark (one dump for all)."""
    if not entries:
        return []
    assert all(e.rank == 0 and e.tied_with_next is None for e in entries)
    text = _ENTRIES.dump_json(list(entries))
    assert text.startswith(_FIRST) and text.endswith(b"}]")
    pieces = text[len(_FIRST) : -2].split(_BETWEEN)
    assert len(pieces) == len(entries)
    fragments = []
    for piece in pieces:
        at = piece.index(_TIED_NULL)
        fragments.append((b"," + piece[: at + len(_TIED)], piece[at + len(_TIED_NULL) :] + b"}"))
    return fragments


def _rank_prefixes(count: int) -> list[bytes]:
    while len(_ranks) <= count:
        _ranks.append(b',{"rank":%d' % len(_ranks))
    return _ranks


def join(head: Leaderboard, fragments: Sequence[Fragment], marks: Sequence[bool | None]) -> bytes:
    """``head`` (a board without entries) as JSON, its entries the ``fragments`` in rank
    order (ranked from 1) with their tie ``marks``."""
    assert not head.entries and len(fragments) == len(marks)
    text = head.model_dump_json(by_alias=True).encode()
    at = text.index(_EMPTY) + len(_EMPTY) - 1  # just before the list's closing bracket
    count = len(fragments)
    parts: list[bytes] = [b""] * (4 * count)
    parts[0::4] = _rank_prefixes(count)[1 : count + 1]
    parts[1::4] = map(itemgetter(0), fragments)
    parts[2::4] = map(_MARKS.__getitem__, marks)
    parts[3::4] = map(itemgetter(1), fragments)
    if count:
        parts[0] = parts[0][1:]  # no comma before the first entry
    return b"".join((text[:at], *parts, text[at:]))
