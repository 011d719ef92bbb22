"""The server's clock: ``now()`` is the one source of "now" for deadlines and limits.

In production it is the system clock (UTC). In the test environment only
(``PODIUM_ENV=test``), ``PODIUM_TEST_CLOCK_FILE`` may name a file holding an
ISO 8601 instant: while the file holds one, the clock stands still at it, in
every process that reads it (a live server's workers included). Tests move
time by rewriting the file instead of sleeping.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from server.config import get_settings

TEST_CLOCK_ENV = "PODIUM_TEST_CLOCK_FILE"


def _test_clock() -> datetime | None:
    path = os.environ.get(TEST_CLOCK_ENV)
    if not path or get_settings().env != "test":
        return None
    try:
        raw = Path(path).read_text().strip()
    except OSError:
        return None
    if not raw:
        return None
    moment = datetime.fromisoformat(raw)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    return _test_clock() or datetime.now(UTC)


def set_test_clock(path: Path, moment: datetime | None) -> None:
    """Stand the test clock at ``moment`` (None: let it follow the system clock again)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(moment.astimezone(UTC).isoformat() if moment is not None else "")
    tmp.replace(path)
