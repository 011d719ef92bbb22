"""The authorization matrix of a course: the accounts, hosts, invitation and moderation
routes (and the main routes of a private challenge) x the seven roles of
``tests/security/class_world.py``, with sign-up closed.

Columns: anonymous, participant (not invited), invited, host (of the private
challenge ``course``), organizer (hosts nothing), admin, disabled (a token in
hand, the account disabled). Management routes run on the private ``course``
(the uninvited get 404, as for a slug that does not exist) and on ``public``
(where hana is no host: 403). Roles run in that order; state-changing rows get
fresh resources from their builders, and rows that change who sees what come last.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from server.config import get_settings
from tests.conftest import PASSWORD
from tests.security.class_world import COURSE_ROLES, as_admin, build_class_world, headers
from tests.security.test_authz_matrix import NONCE, Row, Status, route_keys
from tests.security.world import WORKER_TOKEN, World

NEW_PASSWORD = "a-brand-new-password-42"
_counter = itertools.count()


def C(
    anon: Status,
    participant: Status,
    invited: Status,
    host: Status,
    organizer: Status,
    admin: Status,
    disabled: Status,
) -> dict[str, Status]:
    values = (anon, participant, invited, host, organizer, admin, disabled)
    return dict(zip(COURSE_ROLES, values, strict=True))


def MANAGERS(ok: Status = 200) -> dict[str, Status]:
    """A management route of the private course: hosts and admins; 404 for the uninvited."""
    return C(401, 404, 403, ok, 404, ok, 401)


def STRANGERS(ok: Status = 200) -> dict[str, Status]:
    """The same route on ``public``, which hana does not host: only the admin."""
    return C(401, 403, 403, 403, 403, ok, 401)


def PAGE_MANAGERS(ok: Status = 200) -> dict[str, Status]:
    """A console page of the private course: MANAGERS, with the sign-in page for 401."""
    return C("login", 404, 403, ok, 404, ok, "login")


def PAGE_STRANGERS(ok: Status = 200) -> dict[str, Status]:
    return C("login", 403, 403, 403, 403, ok, "login")


# Seen by the invited and the managers; 404 for the others (bearer: a disabled token is 401).
PRIVATE_API = C(404, 404, 200, 200, 404, 200, 401)
PRIVATE_PAGE = C(404, 404, 200, 200, 404, 200, 404)


def _fresh(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


def _new_user(world: World) -> str:
    name = _fresh("stu")
    response = as_admin(
        world, "POST", "/api/v1/users", json={"username": name, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    return name


def _pending_user(world: World, role: str) -> str:
    """A fresh student who opened the course's invite link: a request waits."""
    name = _new_user(world)
    login = world.api.post("/api/v1/tokens", json={"username": name, "password": PASSWORD})
    token = login.json()["token"]
    response = world.api.post(
        f"/api/v1/challenges/{world.slugs['course']}/join",
        params={"code": world.spare["code"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 202, response.text
    return name


def _temp_host(world: World, role: str) -> str:
    name = _new_user(world)
    for slug in world.slugs.values():
        response = as_admin(
            world, "POST", f"/api/v1/challenges/{slug}/hosts", json={"username": name}
        )
        assert response.status_code == 201, response.text
    return name


def _disqualified(world: World, role: str) -> str:
    for slug in world.slugs.values():
        response = as_admin(
            world, "POST", f"/api/v1/challenges/{slug}/teams/ivy/disqualify", json={"reason": "r"}
        )
        assert response.status_code == 200, response.text
    return "ivy"


def _link_secret(world: World, role: str) -> str:
    response = as_admin(world, "POST", "/api/v1/users/una/reset-link")
    assert response.status_code == 200, response.text
    return str(response.json()["path"]).rsplit("/", 1)[-1]


def _csrf(world: World, role: str) -> str:
    from server.accounts.sessions import csrf_token
    from server.web.context import NONCE_PREFIX

    token = world.tokens.get(role)
    seed = token if token and role != "disabled" else NONCE_PREFIX + NONCE
    return csrf_token(get_settings().secret_key, seed)


def _both(
    method: str, path: str, ok: Status = 200, **kwargs: Any
) -> dict[tuple[str, str, str], Row]:
    """A management row on the private course and on the public challenge."""
    return {
        (method, path, "course"): Row(MANAGERS(ok), on="course", **kwargs),
        (method, path, "public"): Row(STRANGERS(ok), on="public", **kwargs),
    }


def _pages(
    method: str, path: str, ok: Status = 200, **kwargs: Any
) -> dict[tuple[str, str, str], Row]:
    """A console page (or form) on the private course and on the public challenge."""
    data = kwargs.pop("data", None)
    if method == "POST":
        extra = data or (lambda w, r: {})
        kwargs["data"] = lambda w, r: {"csrf_token": _csrf(w, r), **extra(w, r)}
    return {
        (method, path, "course"): Row(PAGE_MANAGERS(ok), on="course", **kwargs),
        (method, path, "public"): Row(PAGE_STRANGERS(ok), on="public", **kwargs),
    }


ROSTER: Callable[[World, str], bytes] = lambda w, r: (  # noqa: E731
    f"username,display_name,email,student_id\n{_fresh('roll')},Ann Lee,ann@ens.fr,S1\n".encode()
)

MATRIX: dict[tuple[str, str, str], Row] = {
    # ---- a private challenge through the existing routes --------------------------------
    ("GET", "/api/v1/challenges/{slug}", "private"): Row(PRIVATE_API, on="course"),
    ("GET", "/api/v1/challenges/{slug}/leaderboard", "private"): Row(PRIVATE_API, on="course"),
    ("GET", "/api/v1/challenges/{slug}/files", "private"): Row(PRIVATE_API, on="course"),
    ("GET", "/api/v1/challenges/{slug}/files/{name}", "private"): Row(PRIVATE_API, on="course"),
    ("GET", "/api/v1/challenges/{slug}/submissions", "private"): Row(PRIVATE_API, on="course"),
    ("GET", "/c/{slug}", "private"): Row(PRIVATE_PAGE, on="course"),
    ("GET", "/c/{slug}/teams/{team}", "private"): Row(PRIVATE_PAGE, on="course"),
    **_both("PATCH", "/api/v1/challenges/{slug}", json=lambda w, r: {"description": "Read me."}),
    **_both("GET", "/api/v1/challenges/{slug}/export", query={"board": "private"}),
    # ---- accounts (sign-up is closed) ----------------------------------------------------
    ("POST", "/api/v1/users", ""): Row(
        C(403, 403, 403, 201, 201, 201, 401),
        json=lambda w, r: {"username": _fresh("made"), "student_id": "S9"},
        why="organizers and admins make accounts when sign-up is closed (a sign-in link)",
    ),
    ("POST", "/api/v1/users", "role"): Row(
        C(403, 403, 403, 403, 403, 201, 401),
        json=lambda w, r: {"username": _fresh("staff"), "role": "organizer"},
        why="only admins choose a role",
    ),
    ("GET", "/api/v1/users", ""): Row(C(401, 403, 403, 403, 403, 200, 401)),
    ("POST", "/api/v1/users/import", ""): Row(C(401, 403, 403, 201, 201, 201, 401), content=ROSTER),
    ("PATCH", "/api/v1/users/{username}", ""): Row(
        C(401, 403, 403, 403, 403, 200, 401), json=lambda w, r: {"display_name": "Una"}
    ),
    ("POST", "/api/v1/users/{username}/reset-link", ""): Row(
        C(401, 403, 403, 200, 403, 200, 401),
        params={"username": lambda w, r: "ivy"},
        why="hana hosts a challenge ivy takes part in; otto does not",
    ),
    # ---- hosts, invitations, requests, participants, moderation -------------------------
    **_both("GET", "/api/v1/challenges/{slug}/hosts"),
    **_both("POST", "/api/v1/challenges/{slug}/hosts", 201, json=lambda w, r: {"username": "tess"}),
    **_both(
        "DELETE",
        "/api/v1/challenges/{slug}/hosts/{username}",
        204,
        params={"username": _temp_host},
    ),
    **_both("GET", "/api/v1/challenges/{slug}/participants"),
    **_both("GET", "/api/v1/challenges/{slug}/participants", query={"status": "pending"}),
    **_both(
        "POST", "/api/v1/challenges/{slug}/participants", json=lambda w, r: {"usernames": ["una"]}
    ),
    ("POST", "/api/v1/challenges/{slug}/participants/{username}/approve", ""): Row(
        MANAGERS(), on="course", params={"username": _pending_user}
    ),
    ("POST", "/api/v1/challenges/{slug}/participants/{username}/reject", ""): Row(
        MANAGERS(), on="course", params={"username": _pending_user}
    ),
    **_both("POST", "/api/v1/challenges/{slug}/invite-link"),
    **_both(
        "POST",
        "/api/v1/challenges/{slug}/teams/{team}/disqualify",
        json=lambda w, r: {"reason": "shared a file with another team"},
        params={"team": lambda w, r: "ivy"},
    ),
    **_both(
        "POST", "/api/v1/challenges/{slug}/teams/{team}/reinstate", params={"team": _disqualified}
    ),
    # ---- the console's pages: the same answers as the API (404 where it is hidden) -------
    **_pages("GET", "/manage/{slug}/people"),
    **_pages("GET", "/manage/{slug}/submissions"),
    **_pages("GET", "/manage/{slug}/queue"),
    **_pages("GET", "/manage/{slug}/announcements"),
    **_pages("GET", "/manage/{slug}/baselines"),
    **_pages("GET", "/manage/{slug}/exports"),
    **_pages("GET", "/manage/{slug}/exports/participants.csv"),
    **_pages(
        "POST",
        "/manage/{slug}/people/roster",
        files=lambda w, r: {"roster": ("r.csv", ROSTER(w, r), "text/csv")},
    ),
    **_pages("POST", "/manage/{slug}/people/reset-link", data=lambda w, r: {"username": "ivy"}),
    **_pages("POST", "/manage/{slug}/people/hosts", 303, data=lambda w, r: {"username": "tess"}),
    **_pages(
        "POST",
        "/manage/{slug}/people/hosts/remove",
        303,
        data=lambda w, r: {"username": _temp_host(w, r)},
    ),
    ("POST", "/manage/{slug}/people/requests", ""): Row(
        PAGE_MANAGERS(303),
        on="course",
        data=lambda w, r: {
            "csrf_token": _csrf(w, r),
            "username": _pending_user(w, r),
            "decision": "approve",
        },
    ),
    **_pages(
        "POST",
        "/manage/{slug}/people/disqualify",
        303,
        data=lambda w, r: {"team": "ivy", "reason": "shared a file"},
    ),
    **_pages(
        "POST",
        "/manage/{slug}/people/reinstate",
        303,
        data=lambda w, r: {"team": _disqualified(w, r)},
    ),
    **_pages("POST", "/manage/{slug}/queue/requeue", 303, data=lambda w, r: {"every": "yes"}),
    **_pages("POST", "/manage/{slug}/announcements", 303, data=lambda w, r: {"title": "Week 2"}),
    # ---- pages of one's own account ------------------------------------------------------
    ("GET", "/account", ""): Row(C("login", 200, 200, 200, 200, 200, "login")),
    ("GET", "/welcome/{secret}", ""): Row(
        C(200, 200, 200, 200, 200, 200, 200),
        params={"secret": _link_secret},
        why="whoever holds a live link may use it",
    ),
    ("POST", "/welcome/{secret}", ""): Row(
        C(303, 303, 303, 303, 303, 303, 303),
        params={"secret": _link_secret},
        data=lambda w, r: {
            "csrf_token": _csrf(w, r),
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    ),
    ("GET", "/c/{slug}/join/{code}", ""): Row(
        C("login", 200, 200, 200, 200, 200, "login"),
        on="course",
        params={"code": lambda w, r: w.spare["code"]},
    ),
    # ---- last: these change who sees the course, and the callers' passwords -------------
    ("POST", "/c/{slug}/join/{code}", ""): Row(
        C("login", 303, 303, 303, 303, 303, "login"),
        on="course",
        params={"code": lambda w, r: w.spare["code"]},
        data=lambda w, r: {"csrf_token": _csrf(w, r)},
        why="the link lets anyone signed in see the course (joining waits for approval)",
    ),
    ("PUT", "/api/v1/me/password", ""): Row(
        C(401, 200, 200, 200, 200, 200, 401),
        json=lambda w, r: {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    ),
    ("POST", "/account/password", ""): Row(
        C("login", 403, 403, 403, 403, 403, "login"),
        data=lambda w, r: {
            "csrf_token": _csrf(w, r),
            "current": PASSWORD,
            "new": "yet-another-password-7",
            "confirm": "yet-another-password-7",
        },
        why="the password changed in the row above: the old one is now wrong",
    ),
}

# Routes added by this layer: each must be a row here (the main matrix has them too).
NEW_ROUTES = {
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users/import"),
    ("PATCH", "/api/v1/users/{username}"),
    ("POST", "/api/v1/users/{username}/reset-link"),
    ("PUT", "/api/v1/me/password"),
    ("GET", "/api/v1/challenges/{slug}/hosts"),
    ("POST", "/api/v1/challenges/{slug}/hosts"),
    ("DELETE", "/api/v1/challenges/{slug}/hosts/{username}"),
    ("GET", "/api/v1/challenges/{slug}/participants"),
    ("POST", "/api/v1/challenges/{slug}/participants"),
    ("POST", "/api/v1/challenges/{slug}/participants/{username}/approve"),
    ("POST", "/api/v1/challenges/{slug}/participants/{username}/reject"),
    ("POST", "/api/v1/challenges/{slug}/invite-link"),
    ("POST", "/api/v1/challenges/{slug}/teams/{team}/disqualify"),
    ("POST", "/api/v1/challenges/{slug}/teams/{team}/reinstate"),
    ("GET", "/account"),
    ("POST", "/account/password"),
    ("GET", "/welcome/{secret}"),
    ("POST", "/welcome/{secret}"),
    ("GET", "/c/{slug}/join/{code}"),
    ("POST", "/c/{slug}/join/{code}"),
}


@pytest.fixture
def app(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    """The app of a course: sign-up closed."""
    monkeypatch.setenv("PODIUM_WORKER_TOKEN", WORKER_TOKEN)
    monkeypatch.setenv("PODIUM_ALLOW_SIGNUP", "false")
    get_settings.cache_clear()
    from server.app import create_app

    return create_app()


@pytest.fixture
def course(api: TestClient, make_user: Callable[..., str]) -> World:
    return build_class_world(api, make_user)


def test_every_new_route_has_a_course_row(app: FastAPI) -> None:
    served = route_keys(app)
    assert not NEW_ROUTES - served, sorted(NEW_ROUTES - served)
    declared = {(method, path) for method, path, _ in MATRIX}
    assert not NEW_ROUTES - declared, sorted(NEW_ROUTES - declared)


def _call(world: World, method: str, path: str, row: Row, role: str) -> Any:
    url = path
    for name in [p[1:-1] for p in path.split("/") if p.startswith("{")]:
        if name in row.params:
            value = row.params[name](world, role)
        elif name == "slug":
            value = world.slugs[row.on]
        elif name == "name":
            value = "train.csv"
        elif name == "team":
            value = "ivy"
        elif name == "username":
            value = "una"
        else:
            raise AssertionError(f"no value for {{{name}}}")
        url = url.replace("{" + name + "}", str(value))
    request_headers = headers(world, role)
    token = world.tokens.get(role)
    request_headers["Cookie"] = f"podium_csrf={NONCE}" + (
        f"; podium_session={token}" if token else ""
    )
    kwargs: dict[str, Any] = {"headers": request_headers, "params": row.query}
    for field in ("json", "content", "data", "files"):
        builder = getattr(row, field)
        if builder is not None:
            kwargs[field] = builder(world, role)
    return world.api.request(method, url, follow_redirects=False, **kwargs)


def _cells(world: World) -> Iterator[tuple[str, Status, Any]]:
    for (method, path, variant), row in MATRIX.items():
        for role in COURSE_ROLES:
            response = _call(world, method, path, row, role)
            got: Status = response.status_code
            if got in (302, 303) and response.headers["location"].startswith("/login"):
                got = "login"
            label = f"{method} {path} [{variant or 'default'}] as {role}"
            assert response.status_code < 500, (label, response.text)
            yield label, row.expect[role], (got, response.text[:120])


# About 500 cells, each a real request (the console's pages and forms doubled them):
# well under a minute alone, but over the default 300 s on a loaded shared machine.
@pytest.mark.timeout(900)
def test_course_authorization_matrix(course: World) -> None:
    mismatches = [
        f"  {label}: expected {expected}, got {got} {text!r}"
        for label, expected, (got, text) in _cells(course)
        if got != expected
    ]
    cells = len(MATRIX) * len(COURSE_ROLES)
    assert not mismatches, f"{len(mismatches)} of {cells} cells differ:\n" + "\n".join(mismatches)
    print(f"course matrix: {len(MATRIX)} rows x {len(COURSE_ROLES)} roles = {cells} cells")
