"""Discord and Slack notifications: a new leader, opening, closing soon, final results.

Events are detected in two places: ``check_leader`` runs after each scored
submission (on the insight thread, after the commit), ``send_due_notifications``
runs in the server's sweeper thread (opening, 24 h and 1 h before
``closes_at``, finalization). Each event is marked in ``Challenge.notified``
(under a row lock on PostgreSQL) and, in the same transaction, its messages
are written to the outbox under a key that names the event: even where two
processes decide it at once (SQLite has no row locks), it is queued once.

Delivery (``server.insight.outbox``): each server process runs a deliverer
thread that claims due rows, posts them and retries with backoff; the rows
survive restarts. Nothing ever waits for it. Messages carry public facts
only: team names, public scores, dates, and after finalization the winners'
names (never a private score).
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from server.config import Settings
from server.db import session_scope
from server.insight.outbox import deliverer, enqueue
from server.insight.webhook_urls import (
    MAX_URL_LENGTH,
    TARGETS,
    check_webhook_url,
    configured,
    merge_webhooks,
)
from server.leaderboard.service import get_board
from server.models import UNFINISHED, Challenge, ChallengeState, Submission, SubmissionStatus, Team
from server.models import utcnow as _utcnow

__all__ = [  # the URL checks live in webhook_urls (a leaf); still importable from here
    "MAX_URL_LENGTH",
    "TARGETS",
    "check_webhook_url",
    "check_leader",
    "configured",
    "merge_webhooks",
    "notifier",
    "queue_announcement",
    "queue_message",
    "send_due_notifications",
    "send_test_message",
]

log = logging.getLogger(__name__)

DISCORD_MAX_CHARS = 2000
# Warnings before the deadline, largest first: (key in Challenge.notified, lead time).
CLOSING_WARNINGS = (("closes_24h", timedelta(hours=24)), ("closes_1h", timedelta(hours=1)))


# --------------------------------------------------------------------------
# Messages

_DISCORD_MARKUP = re.compile(r"([\\*_~`|>\[\]])")


def _discord_escape(text: str) -> str:
    return _DISCORD_MARKUP.sub(r"\\\1", text)


def _slack_escape(text: str) -> str:
    # Slack's rule: escape these three; "<!channel>" and friends need them.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Message:
    """A message with placeholders for what teams and organizers typed (escaped per target)."""

    template: str
    values: dict[str, str] = field(default_factory=dict)
    link: str | None = None

    def render(self, escape: Callable[[str], str]) -> str:
        text = self.template.format(**{k: escape(v) for k, v in self.values.items()})
        return f"{text}\n{self.link}" if self.link else text

    def payload(self, target: str) -> dict[str, Any]:
        if target == "discord_url":
            content = self.render(_discord_escape)[:DISCORD_MAX_CHARS]
            # No @everyone, @here or role pings, whatever a team is called.
            return {"content": content, "allowed_mentions": {"parse": []}}
        return {"text": self.render(_slack_escape)}


def _link(settings: Settings, path: str) -> str | None:
    return settings.public_url.rstrip("/") + path if settings.public_url else None


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _duration(delta: timedelta) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 90:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = round(minutes / 60)
    return f"{hours} hours"


def _score(value: float) -> str:
    return f"{value:.5f}"


# --------------------------------------------------------------------------
# Delivery (through the database outbox: server.insight.outbox)

notifier = deliverer


def queue_message(
    session: Session,
    key: str,
    challenge_id: int | None,
    webhooks: dict[str, Any] | None,
    message: Message,
) -> int:
    """Add ``message`` for every configured webhook to the outbox, in ``session``'s
    transaction; returns how many rows are new (0: this event was queued already).
    Call ``notifier.wake()`` after the commit."""
    posts = {target: (url, message.payload(target)) for target, url in configured(webhooks).items()}
    return enqueue(session, key, challenge_id, posts)


# --------------------------------------------------------------------------
# Events

_event_lock = threading.Lock()


def _locked_challenge(session: Session, challenge_id: int) -> Challenge | None:
    # The row lock (PostgreSQL) keeps two server processes from sending one event twice.
    return session.scalar(select(Challenge).where(Challenge.id == challenge_id).with_for_update())


def check_leader(challenge_id: int, settings: Settings) -> bool:
    """Announce a new first place on the public board; True when a message was queued.

    Waits while older submissions are still being scored (a re-score re-queues
    them all: the board is rebuilt one submission at a time, and its passing
    leaders are not news).
    """
    with _event_lock, session_scope(settings) as session:
        challenge = _locked_challenge(session, challenge_id)
        if challenge is None or challenge.state not in (ChallengeState.open, ChallengeState.closed):
            return False
        webhooks = configured(challenge.webhooks)
        if not webhooks or _rebuilding(session, challenge_id):
            return False
        board = get_board(session, challenge, "public")
        if not board.entries:
            return False
        top = board.entries[0]
        team_id = session.scalar(
            select(Team.id).where(Team.challenge_id == challenge_id, Team.name == top.team)
        )
        notified = dict(challenge.notified or {})
        if team_id is None or notified.get("leader") == team_id:
            return False
        notified["leader"] = team_id
        challenge.notified = notified
        # The same lead decided twice (two processes) is one outbox key.
        key = f"c{challenge_id}:leader:{team_id}:{top.best_submission_at.isoformat()}"
        values = {"team": top.team, "title": challenge.title, "metric": challenge.metric}
        template = "🥇 {team} takes first place on {title}: public {metric} " + _score(top.score)
        if top.ci_halfwidth is not None:
            template += f" ± {top.ci_halfwidth:.4f}"
        template += "."
        if top.tied_with_next and len(board.entries) > 1:
            values["runner_up"] = board.entries[1].team
            template += " Not significantly ahead of {runner_up} yet."
        message = Message(template, values, _link(settings, f"/c/{challenge.slug}"))
        queued = queue_message(session, key, challenge_id, webhooks, message)
    notifier.wake()
    return queued > 0


def _rebuilding(session: Session, challenge_id: int) -> bool:
    """Whether a submission older than the newest scored one is queued or running."""
    newest = session.scalar(
        select(func.max(Submission.created_at)).where(
            Submission.challenge_id == challenge_id,
            Submission.status == SubmissionStatus.scored,
        )
    )
    if newest is None:
        return False
    return bool(
        session.scalar(
            select(
                exists().where(
                    Submission.challenge_id == challenge_id,
                    Submission.status.in_(UNFINISHED),
                    Submission.created_at < newest,
                )
            )
        )
    )


def _due_events(
    session: Session,
    challenge: Challenge,
    notified: dict[str, Any],
    now: datetime,
    settings: Settings,
) -> list[tuple[str, Message]]:
    """Messages due for a challenge, each with its outbox key; marks them in ``notified``.

    The key names the event itself (not when it was noticed), so that two
    processes noticing it at once queue it once.
    """
    messages: list[tuple[str, Message]] = []
    prefix = f"c{challenge.id}"

    values = {"title": challenge.title, "metric": challenge.metric}
    link = _link(settings, f"/c/{challenge.slug}")
    closes_at = challenge.closes_at
    deadline = closes_at.isoformat() if closes_at else None
    if challenge.state == ChallengeState.open:
        started = challenge.opens_at is None or challenge.opens_at <= now
        running = closes_at is None or now < closes_at
        if started and running and "opened" not in notified:
            notified["opened"] = now.isoformat()
            template = "📣 {title} is open: submit your predictions! Metric: {metric}"
            if closes_at is not None:
                template += f"; deadline {_when(closes_at)} (in {_duration(closes_at - now)})"
            if challenge.daily_submission_limit is not None:
                template += f"; {challenge.daily_submission_limit} submissions per team per day"
            template += "."
            messages.append((f"{prefix}:opened", Message(template, values, link)))
            # The opening message gives the deadline: no separate warning for it.
            for key, lead in CLOSING_WARNINGS:
                if closes_at is not None and closes_at - now <= lead:
                    notified[key] = deadline
        elif started and running and closes_at is not None:
            crossed = [key for key, lead in CLOSING_WARNINGS if closes_at - now <= lead]
            if crossed and any(notified.get(key) != deadline for key in crossed):
                for key in crossed:
                    notified[key] = deadline
                template = (
                    f"⏰ {{title}} closes in {_duration(closes_at - now)} ({_when(closes_at)}): "
                    "time to pick your final submissions."
                )
                key = f"{prefix}:closing:{deadline}:{crossed[-1]}"
                messages.append((key, Message(template, values, link)))
    elif challenge.state == ChallengeState.finalized and "finalized" not in notified:
        notified["finalized"] = now.isoformat()
        messages.append((f"{prefix}:finalized", _final_message(session, challenge, settings)))
    return messages


def _final_message(session: Session, challenge: Challenge, settings: Settings) -> Message:
    # Finalized: the private board is public now; names only, never its scores.
    board = get_board(session, challenge, "private")
    podium = [entry.team for entry in board.entries[:3]]
    values = {"title": challenge.title} | {f"team{i}": name for i, name in enumerate(podium)}
    places = ", ".join(
        f"{place} {{team{i}}}" for i, place in enumerate(("🥇", "🥈", "🥉")[: len(podium)])
    )
    template = "🏁 {title} is finalized: the private leaderboard is out."
    if podium:
        template += f" {places}."
    return Message(template, values, _link(settings, f"/c/{challenge.slug}"))


def send_due_notifications(settings: Settings, now: datetime | None = None) -> int:
    """Send what is due (opening, closing soon, final results); returns messages queued.

    Cheap when nothing is due: one query over the challenges. Never raises.
    """
    now = now or _utcnow()
    queued = 0
    try:
        with session_scope(settings) as session:
            candidates = session.execute(
                select(Challenge.id, Challenge.webhooks).where(
                    Challenge.state != ChallengeState.draft
                )
            ).all()
        for challenge_id, webhooks in candidates:
            if configured(webhooks):
                queued += _send_due(challenge_id, now, settings)
    except Exception:
        log.exception("checking due notifications failed")
    return queued


def _send_due(challenge_id: int, now: datetime, settings: Settings) -> int:
    with _event_lock, session_scope(settings) as session:
        challenge = _locked_challenge(session, challenge_id)
        if challenge is None:
            return 0
        notified = dict(challenge.notified or {})
        messages = _due_events(session, challenge, notified, now, settings)
        if not messages:
            return 0
        challenge.notified = notified
        queued = sum(
            queue_message(session, key, challenge_id, challenge.webhooks, message)
            for key, message in messages
        )
    notifier.wake()
    return queued


def send_test_message(challenge: Challenge, settings: Settings) -> int:
    """A test message to the challenge's webhooks (organizers); returns how many."""
    message = Message(
        "🔔 Podium notifications for {title} reach this channel.",
        {"title": challenge.title},
        _link(settings, f"/c/{challenge.slug}"),
    )
    with session_scope(settings) as session:
        key = f"c{challenge.id}:test:{uuid.uuid4().hex}"
        queued = queue_message(session, key, challenge.id, challenge.webhooks, message)
    notifier.wake()
    return queued


def queue_announcement(
    session: Session,
    challenge: Challenge,
    announcement_id: int,
    title: str,
    body: str,
    settings: Settings,
) -> int:
    """Queue a hosts' announcement for the challenge's webhooks in ``session``'s
    transaction (not for drafts); call ``notifier.wake()`` after the commit."""
    if challenge.state == ChallengeState.draft:
        return 0
    message = Message(
        "📢 {challenge}: {title}\n{body}",
        {"challenge": challenge.title, "title": title, "body": body},
        _link(settings, f"/c/{challenge.slug}"),
    )
    key = f"c{challenge.id}:announcement:{announcement_id}"
    return queue_message(session, key, challenge.id, challenge.webhooks, message)
