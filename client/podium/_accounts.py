"""Client methods for accounts and the people of a challenge (mixed into `Client`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import httpx

from ._exceptions import PodiumError


def _seg(value: object) -> str:
    return quote(str(value), safe="")


class AccountsMixin:
    """Accounts (own password, logout; organizers: users, rosters, resets) and hosts,
    invitations, join requests, participants and moderation of a challenge."""

    # Provided by `Client`.
    token: str | None
    _http: httpx.Client
    _call: Callable[..., Any]
    _auth_headers: Callable[[], dict[str, str]]
    _send: Callable[..., httpx.Response]

    # -- your own account --------------------------------------------------

    def change_password(self, current: str, new: str) -> int:
        """Change your password; returns how many other tokens and sessions were revoked."""
        data = self._call(
            "PUT", "/me/password", json={"current_password": current, "new_password": new}
        )
        return int(data.get("revoked", 0)) if isinstance(data, dict) else 0

    def logout(self) -> bool:
        """Revoke this client's token on the server; False when it was not valid anymore."""
        if not self.token:
            return False
        tokens = self._call("GET", "/tokens")
        prefix = self.token[:10]
        for token in tokens if isinstance(tokens, list) else []:
            if token.get("prefix") == prefix and token.get("revoked_at") is None:
                self._call("DELETE", f"/tokens/{_seg(token['id'])}")
                return True
        return False

    # -- organizers and admins: accounts -------------------------------------

    def create_user(
        self,
        username: str,
        *,
        password: str | None = None,
        role: str | None = None,
        display_name: str = "",
        email: str | None = None,
        student_id: str | None = None,
    ) -> dict[str, Any]:
        """Make an account (``sign_in_link`` in the answer when no password is given)."""
        body: dict[str, Any] = {"username": username, "display_name": display_name}
        for key, value in (
            ("password", password),
            ("role", role),
            ("email", email),
            ("student_id", student_id),
        ):
            if value is not None:
                body[key] = value
        return cast(dict[str, Any], self._call("POST", "/users", json=body))

    def import_roster(self, roster: str | Path) -> list[dict[str, Any]]:
        """Create every account of a CSV roster (or none); one sign-in link per user."""
        content = Path(roster).read_bytes()

        def factory(_stack: Any) -> httpx.Request:
            return self._http.build_request(
                "POST",
                "/users/import",
                content=content,
                headers={**self._auth_headers(), "Content-Type": "text/csv; charset=utf-8"},
            )

        response = self._send(factory, idempotent=False)
        try:
            return cast(list[dict[str, Any]], response.json())
        except ValueError as exc:
            raise PodiumError("unexpected answer to the roster import: not JSON") from exc

    def users(self) -> list[dict[str, Any]]:
        """Every account (admins)."""
        return cast(list[dict[str, Any]], self._call("GET", "/users"))

    def reset_link(self, username: str) -> dict[str, Any]:
        """A new one-time sign-in link for a user who forgot the password."""
        return cast(dict[str, Any], self._call("POST", f"/users/{_seg(username)}/reset-link"))

    def update_user(self, username: str, **fields: Any) -> dict[str, Any]:
        """Admins: ``disabled``, ``role``, ``display_name``, ``email``, ``student_id``."""
        return cast(dict[str, Any], self._call("PATCH", f"/users/{_seg(username)}", json=fields))

    # -- the people of a challenge -------------------------------------------

    def hosts(self, slug: str) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._call("GET", f"/challenges/{_seg(slug)}/hosts"))

    def add_host(self, slug: str, username: str) -> list[dict[str, Any]]:
        return cast(
            list[dict[str, Any]],
            self._call("POST", f"/challenges/{_seg(slug)}/hosts", json={"username": username}),
        )

    def remove_host(self, slug: str, username: str) -> None:
        self._call("DELETE", f"/challenges/{_seg(slug)}/hosts/{_seg(username)}")

    def invite(self, slug: str, usernames: Iterable[str]) -> list[str]:
        data = self._call(
            "POST", f"/challenges/{_seg(slug)}/participants", json={"usernames": list(usernames)}
        )
        return list(data.get("invited", [])) if isinstance(data, dict) else []

    def invite_link(self, slug: str, *, rotate: bool = False) -> dict[str, Any]:
        return cast(
            dict[str, Any],
            self._call(
                "POST",
                f"/challenges/{_seg(slug)}/invite-link",
                params={"rotate": "true"} if rotate else None,
            ),
        )

    def participants(self, slug: str, status: str | None = None) -> list[dict[str, Any]]:
        return cast(
            list[dict[str, Any]],
            self._call(
                "GET",
                f"/challenges/{_seg(slug)}/participants",
                params={"status": status} if status else None,
            ),
        )

    def decide(self, slug: str, username: str, *, approve: bool) -> dict[str, Any]:
        verb = "approve" if approve else "reject"
        return cast(
            dict[str, Any],
            self._call("POST", f"/challenges/{_seg(slug)}/participants/{_seg(username)}/{verb}"),
        )

    def disqualify(self, slug: str, team: str, reason: str) -> dict[str, Any]:
        return cast(
            dict[str, Any],
            self._call(
                "POST",
                f"/challenges/{_seg(slug)}/teams/{_seg(team)}/disqualify",
                json={"reason": reason},
            ),
        )

    def reinstate(self, slug: str, team: str) -> dict[str, Any]:
        return cast(
            dict[str, Any],
            self._call("POST", f"/challenges/{_seg(slug)}/teams/{_seg(team)}/reinstate"),
        )
