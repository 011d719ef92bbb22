"""A course, built through the API: a private challenge, its hosts, invited students.

Roles, as the accounts matrix names them:

- ``anonymous``: no credentials;
- ``participant``: pete, a participant who is not invited to the private challenge;
- ``invited``: ivy, invited by name to the private challenge, a team of one there with
  a scored submission;
- ``host``: hana, an organizer added as a host of the private challenge (olga made it);
- ``organizer``: otto, an organizer who hosts neither challenge;
- ``admin``: ada;
- ``disabled``: dora, invited like ivy, then disabled by the admin (her token stays in
  hand: it must get 401).

Challenges (both created by olga, hosts aside): ``course``, private, with
``join_requires_approval``, and ``public``, where ivy also has a team (hana does not
host it: a host of one challenge is a stranger to the other).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import auth
from tests.security.world import Hidden, World, _ok, new_challenge, public_files, submit_csv

COURSE_ROLES = ("anonymous", "participant", "invited", "host", "organizer", "admin", "disabled")
PRIVATE_TITLE = "Hidden Seminar Zebrafish"
PRIVATE_SLUG = "zq-seminar"


def build_class_world(api: TestClient, make_user: Callable[..., str]) -> World:
    hidden = Hidden.make()
    olga = make_user("olga", "organizer")
    tokens: dict[str, str | None] = {
        "anonymous": None,
        "participant": make_user("pete"),
        "invited": make_user("ivy"),
        "host": make_user("hana", "organizer"),
        "organizer": make_user("otto", "organizer"),
        "admin": make_user("ada", "admin"),
        "disabled": make_user("dora"),
        "creator": olga,
    }
    make_user("una")  # invited by the matrix; never a role
    make_user("tess")  # made a host by the matrix; never a role
    course = new_challenge(
        api,
        olga,
        hidden,
        PRIVATE_SLUG,
        title=PRIVATE_TITLE,
        visibility="private",
        join_requires_approval=True,
    )
    public = new_challenge(api, olga, hidden, "public-one")
    base = f"/api/v1/challenges/{course}"
    _ok(api.post(f"{base}/hosts", json={"username": "hana"}, headers=auth(olga)), 201)
    _ok(api.post(f"{base}/participants", json={"usernames": ["ivy", "dora"]}, headers=auth(olga)))
    code = _ok(api.post(f"{base}/invite-link", headers=auth(olga)))["code"]
    submissions: dict[str, int] = {}
    for slug in (course, public):
        _ok(api.post(f"/api/v1/challenges/{slug}/join", headers=auth(tokens["invited"] or "")))
        body = _ok(
            submit_csv(api, tokens["invited"] or "", slug, hidden.predictions(12, 20), "ivy"), 201
        )
        submissions[slug] = body["id"]
    _ok(api.post(f"/api/v1/challenges/{course}/join", headers=auth(tokens["disabled"] or "")))
    _ok(
        api.patch(
            "/api/v1/users/dora", json={"disabled": True}, headers=auth(tokens["admin"] or "")
        )
    )
    public_score, private_score = Hidden.scores(12, 20)
    return World(
        api=api,
        hidden=hidden,
        tokens=tokens,
        usernames={"invited": "ivy", "host": "hana", "organizer": "otto", "admin": "ada"},
        slugs={"course": course, "public": public},
        submissions={"a1": submissions[course], "public": submissions[public]},
        team_names={"owner": "ivy", "other": "dora"},
        files=sorted(public_files()),
        solution_sha256=hashlib.sha256(hidden.solution_csv()).hexdigest(),
        hidden_inputs_sha256="0" * 64,
        private_scores=[private_score],
        public_scores=[public_score],
        spare={"a1_sha256": "0" * 64, "code": code},
    )


def headers(world: World, role: str) -> dict[str, str]:
    token = world.tokens.get(role)
    return auth(token) if token else {}


def as_admin(world: World, method: str, url: str, **kwargs: Any) -> Any:
    return world.api.request(method, url, headers=headers(world, "admin"), **kwargs)
