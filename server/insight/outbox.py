"""The webhook outbox: messages are rows, written with the event, posted by a deliverer.

Whoever decides that an event happened (``server.insight.notify``) adds its
messages with :func:`enqueue` in the same transaction that records the event.
Each row has a ``key`` naming the event and the target, unique in the table:
two server processes deciding the same event (SQLite has no row locks, so
both may) queue it once.

Every server process runs one :class:`Deliverer` thread. It *claims* a due row
with a conditional UPDATE (``WHERE status = 'pending' AND (claimed_until IS
NULL OR claimed_until < now)``; a plain row count, so it works on SQLite as on
PostgreSQL), posts it, and writes the outcome under its claim. A failed post
(network error, 5xx, 429) is due again after ``webhook_backoff_seconds``,
doubling each time (a 429's ``Retry-After`` is honoured), at most
``webhook_max_attempts`` times; any other answer is final. Rows live in the
database, so a restart loses nothing: the next deliverer picks them up. A
message is posted twice only if a process dies between its post and the write
of the outcome; its claim then runs out (:func:`claim_seconds`) and another
deliverer posts it again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server import __version__
from server.config import Settings, get_settings
from server.db import session_scope
from server.models import OutboxMessage, OutboxStatus, utcnow

log = logging.getLogger(__name__)

CLAIM_BATCH = 20
POLL_SECONDS = 2.0
IDLE_POLL_SECONDS = 0.05
MAX_RETRY_AFTER_SECONDS = 300.0
ERROR_CHARS = 200


def claim_seconds(settings: Settings) -> float:
    """How long a claim holds: well past the longest post (connect, write, read)."""
    return 4 * settings.webhook_timeout_seconds + 10


def enqueue(
    session: Session,
    key: str,
    challenge_id: int | None,
    posts: dict[str, tuple[str, dict[str, Any]]],
) -> int:
    """Add ``{target: (url, payload)}`` under ``key``; returns how many rows are new.

    Runs in the caller's transaction: the messages exist exactly when the event
    is committed. A key already present (the same event decided elsewhere) is
    skipped. Call :meth:`Deliverer.wake` after the commit.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    added = 0
    now = utcnow()
    for target, (url, payload) in posts.items():
        statement = (
            insert(OutboxMessage)
            .values(
                key=f"{key}:{target}"[:200],
                challenge_id=challenge_id,
                target=target,
                url=url,
                payload=payload,
                status=OutboxStatus.pending,
                attempts=0,
                due_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(OutboxMessage.id)
        )
        added += len(session.execute(statement).all())  # nothing comes back on a conflict
    return added


@dataclass
class DeliveryLog:
    """What this process's deliverer did (tests and logs): counts per outcome."""

    delivered: int = 0
    given_up: int = 0
    retried: int = 0


@dataclass(frozen=True)
class _Claimed:
    id: int
    url: str
    payload: dict[str, Any]
    attempts: int


class Deliverer:
    """Posts the outbox's due rows from one daemon thread (started on first use)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._woken = False
        self._stopping = False
        self._busy = False
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.name = ""
        self.log = DeliveryLog()

    def ensure_running(self) -> None:
        with self._condition:
            if self._pid != os.getpid():  # a forked child needs its own thread and name
                self._thread = None
                self._pid = os.getpid()
                self.name = f"{socket.gethostname()[:30]}/{self._pid}/{uuid.uuid4().hex[:12]}"
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._loop, name="podium-webhooks", daemon=True
                )
                self._thread.start()

    def wake(self) -> None:
        """Look at the outbox now (new rows were committed)."""
        self.ensure_running()
        with self._condition:
            self._woken = True
            self._condition.notify_all()

    def stop(self) -> None:
        """Stop the thread after its current post (the next ``wake`` starts another)."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=60)
        with self._condition:
            if self._thread is thread and (thread is None or not thread.is_alive()):
                self._thread = None

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no row is pending and nothing is being posted; False on timeout."""
        self.wake()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._condition:
                busy = self._busy or self._woken
            if not busy and pending_count() == 0:
                return True
            time.sleep(IDLE_POLL_SECONDS)
        return False

    # ------------------------------------------------------------------
    # The thread

    def _loop(self) -> None:
        headers = {"User-Agent": f"podium/{__version__}"}
        with httpx.Client(headers=headers, follow_redirects=False) as client:
            while True:
                with self._condition:
                    if self._stopping:
                        return
                    self._woken = False
                    self._busy = True
                wait = POLL_SECONDS
                try:
                    wait = self.deliver_due(client)
                except Exception:
                    log.exception("webhook delivery failed; trying again in %.0f s", wait)
                with self._condition:
                    self._busy = False
                    if not self._woken and not self._stopping:
                        self._condition.wait(wait)

    def deliver_due(self, client: httpx.Client) -> float:
        """Claim and post every due row; returns how long to wait before looking again."""
        settings = get_settings()
        while True:
            claimed = self._claim(settings)
            if not claimed:
                break
            for row in claimed:
                self._deliver(client, row, settings)
        next_due = next_due_at()
        if next_due is None:
            return POLL_SECONDS
        return min(POLL_SECONDS, max(0.0, (next_due - utcnow()).total_seconds()))

    def _claim(self, settings: Settings) -> list[_Claimed]:
        now = utcnow()
        claimable = (
            OutboxMessage.status == OutboxStatus.pending,
            OutboxMessage.due_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        with session_scope(settings) as session:
            candidates = session.scalars(
                select(OutboxMessage.id)
                .where(*claimable)
                .order_by(OutboxMessage.due_at, OutboxMessage.id)
                .limit(CLAIM_BATCH)
            ).all()
        claimed = []
        until = now + timedelta(seconds=claim_seconds(settings))
        for row_id in candidates:
            with session_scope(settings) as session:
                result = session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row_id, *claimable)
                    .values(
                        claimed_by=self.name,
                        claimed_until=until,
                        attempts=OutboxMessage.attempts + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    continue  # another deliverer has it
                row = session.get(OutboxMessage, row_id)
                assert row is not None
                claimed.append(_Claimed(row.id, row.url, dict(row.payload), row.attempts))
        return claimed

    def _deliver(self, client: httpx.Client, row: _Claimed, settings: Settings) -> None:
        host = urlsplit(row.url).hostname
        retry_after: float | None = None
        try:
            response = client.post(
                row.url, json=row.payload, timeout=settings.webhook_timeout_seconds
            )
        except httpx.HTTPError as error:
            problem = type(error).__name__
        else:
            if response.is_success:
                self.log.delivered += 1
                self._finish(row, settings, status=OutboxStatus.sent, sent_at=utcnow())
                return
            problem = f"HTTP {response.status_code}"
            if response.status_code != 429 and response.status_code < 500:
                log.warning("webhook to %s refused (%s); not retried", host, problem)
                self.log.given_up += 1
                self._finish(row, settings, status=OutboxStatus.failed, last_error=problem)
                return
            retry_after = _retry_after(response)
        if row.attempts >= settings.webhook_max_attempts:
            log.warning("webhook to %s failed (%s); giving up", host, problem)
            self.log.given_up += 1
            self._finish(row, settings, status=OutboxStatus.failed, last_error=problem)
            return
        delay = max(settings.webhook_backoff_seconds * 2 ** (row.attempts - 1), retry_after or 0)
        self.log.retried += 1
        log.info("webhook to %s failed (%s); retrying in %.1f s", host, problem, delay)
        self._finish(row, settings, due_at=utcnow() + timedelta(seconds=delay), last_error=problem)

    def _finish(self, row: _Claimed, settings: Settings, **values: Any) -> None:
        """Write the outcome and release the claim (only while the claim is ours)."""
        values = {"claimed_by": None, "claimed_until": None} | values
        if "last_error" in values:
            values["last_error"] = str(values["last_error"])[:ERROR_CHARS]
        with session_scope(settings) as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, OutboxMessage.claimed_by == self.name)
                .values(**values)
                .execution_options(synchronize_session=False)
            )


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(float(response.headers.get("retry-after", "")), MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        return None


def pending_count() -> int:
    with session_scope() as session:
        return int(
            session.scalar(
                select(func.count(OutboxMessage.id)).where(
                    OutboxMessage.status == OutboxStatus.pending
                )
            )
            or 0
        )


def next_due_at() -> datetime | None:
    """When the earliest pending row is due (its claim's end, if it is claimed)."""
    with session_scope() as session:
        row = session.execute(
            select(OutboxMessage.due_at, OutboxMessage.claimed_until)
            .where(OutboxMessage.status == OutboxStatus.pending)
            .order_by(OutboxMessage.due_at)
            .limit(1)
        ).first()
    if row is None:
        return None
    due, claimed_until = row
    return max(due, claimed_until) if claimed_until is not None else due


deliverer = Deliverer()
