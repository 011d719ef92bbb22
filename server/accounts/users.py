"""Accounts made and looked after by organizers and admins: roster import, changes, resets."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.accounts.links import issue_link, revoke_credentials
from server.accounts.security import USERNAME_PATTERN
from server.accounts.service import USERNAME_RULE, create_user
from server.challenges.access import managed_ids
from server.exceptions import Forbidden, Invalid, NotFound
from server.models import ChallengeAccess, Role, TeamMember, User, utcnow

ROSTER_COLUMNS = ("username", "display_name", "email", "student_id")
MAX_ROSTER_ROWS = 5000
MAX_ROSTER_ERRORS_SHOWN = 20
EMAIL_PATTERN = re.compile(r"^[^@\s,;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
LIMITS = {"display_name": 100, "email": 254, "student_id": 64}


@dataclass(frozen=True)
class Issued:
    user: User
    secret: str
    expires_at: datetime


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None:
        raise NotFound.of(f"user '{username}'")
    return user


def check_email(email: str | None) -> str | None:
    if email is None or email == "":
        return None
    if len(email) > LIMITS["email"] or not EMAIL_PATTERN.match(email):
        raise Invalid(f"'{email}' is not an email address")
    return email


def may_administer(session: Session, actor: User, target: User) -> bool:
    """Admins: everyone. Organizers: the participants they created or who take part
    (or are invited to) a challenge they manage."""
    if actor.is_admin:
        return True
    if not actor.is_organizer or target.role != Role.participant:
        return False
    if target.created_by_id == actor.id:
        return True
    managed = managed_ids(session, actor) or []
    if not managed:
        return False
    member = session.scalar(
        select(TeamMember.id).where(
            TeamMember.user_id == target.id, TeamMember.challenge_id.in_(managed)
        )
    )
    invited = session.scalar(
        select(ChallengeAccess.id).where(
            ChallengeAccess.user_id == target.id, ChallengeAccess.challenge_id.in_(managed)
        )
    )
    return member is not None or invited is not None


def reset_link(session: Session, actor: User, username: str) -> Issued:
    target = get_user(session, username)
    if not may_administer(session, actor, target):
        raise Forbidden(
            "organizers reset the participants of their own challenges; admins reset anyone"
        )
    secret, expires = issue_link(session, target)
    return Issued(target, secret, expires)


def update_user(
    session: Session,
    username: str,
    *,
    disabled: bool | None = None,
    role: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
    student_id: str | None = None,
    email_set: bool = False,
    student_id_set: bool = False,
) -> User:
    """Admins: disable (every credential ends at once) or enable, change role or details."""
    user = get_user(session, username)
    if disabled is True and user.disabled_at is None:
        user.disabled_at = utcnow()
        revoke_credentials(session, user)
    elif disabled is False:
        user.disabled_at = None
    if role is not None:
        user.role = Role(role)
    if display_name is not None:
        user.display_name = display_name
    if email_set:
        user.email = check_email(email)
    if student_id_set:
        user.student_id = student_id or None
    session.flush()
    return user


def _roster_rows(content: bytes) -> list[tuple[int, dict[str, str]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("the roster must be a UTF-8 CSV file") from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise Invalid("the roster is empty: it needs a header line 'username,...'") from None
    except csv.Error as error:
        raise Invalid(f"the roster is not valid CSV: {error}") from None
    unknown = [h for h in header if h not in ROSTER_COLUMNS]
    if "username" not in header or unknown or len(set(header)) != len(header):
        raise Invalid(
            "the roster's header must name distinct columns among "
            f"{', '.join(ROSTER_COLUMNS)} (username is required)"
            + (f"; unknown: {', '.join(repr(u) for u in unknown)}" if unknown else "")
        )
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                rows.append((line, {"__error__": f"{len(cells)} cells, expected {len(header)}"}))
                continue
            rows.append((line, {h: c.strip() for h, c in zip(header, cells, strict=True)}))
    except csv.Error as error:
        raise Invalid(f"the roster is not valid CSV (line {reader.line_num}): {error}") from None
    if not rows:
        raise Invalid("the roster has a header but no users")
    if len(rows) > MAX_ROSTER_ROWS:
        raise Invalid(f"the roster has {len(rows)} users; import at most {MAX_ROSTER_ROWS} at once")
    return rows


def _row_problems(row: dict[str, str]) -> list[str]:
    if "__error__" in row:
        return [row["__error__"]]
    problems = []
    if not USERNAME_PATTERN.match(row["username"]):
        problems.append(f"'{row['username']}': {USERNAME_RULE}")
    for column, limit in LIMITS.items():
        if len(row.get(column, "")) > limit:
            problems.append(f"{column} is over {limit} characters")
    if row.get("email"):
        try:
            check_email(row["email"])
        except Invalid as error:
            problems.append(error.detail)
    return problems


def import_roster(session: Session, actor: User, content: bytes) -> list[Issued]:
    """Create every account of the roster with a sign-in link, or none (422 naming the lines)."""
    rows = _roster_rows(content)
    errors: list[str] = []
    first_line: dict[str, int] = {}
    for line, row in rows:
        errors += [f"line {line}: {p}" for p in _row_problems(row)]
        key = row.get("username", "").lower()
        if key and key in first_line:
            errors.append(
                f"line {line}: username '{row['username']}' is also on line {first_line[key]}"
            )
        first_line.setdefault(key, line)
    wanted = [k for k in first_line if k]
    taken: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        taken |= set(
            session.scalars(
                select(func.lower(User.username)).where(func.lower(User.username).in_(chunk))
            )
        )
    errors += [f"line {first_line[key]}: username '{key}' exists already" for key in sorted(taken)]
    if errors:
        shown = errors[:MAX_ROSTER_ERRORS_SHOWN]
        more = len(errors) - len(shown)
        raise Invalid(
            "nothing was imported; fix these lines: "
            + "; ".join(shown)
            + (f"; and {more} more" if more else "")
        )
    issued = []
    for _, row in rows:
        user = create_user(
            session,
            row["username"],
            None,
            Role.participant,
            display_name=row.get("display_name", ""),
            email=row.get("email") or None,
            student_id=row.get("student_id") or None,
            created_by=actor,
        )
        secret, expires = issue_link(session, user, fresh=True)
        issued.append(Issued(user, secret, expires))
    return issued


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))
