"""The authorization matrix: every route of the app x five roles, one declared status each.

The rows come from ``app.routes``: a route with no row here fails the suite
(with the list of the missing ones), so a new endpoint cannot ship without
someone deciding who may call it. Each row names the expected status for

    anonymous   no credentials
    worker      the worker token (``PODIUM_WORKER_TOKEN``)
    other       bob, a participant in another team
    organizer   olga
    owner       alan, a member of team A, which owns the resources in the path

Path parameters point at team A's resources (alice's submissions, alan's
tokens, team A's name) in the challenge named by ``on``. Roles run in the
order anonymous, worker, other, organizer, owner, so a state-changing
request by the rightful caller comes last; state-changing routes run on a
challenge of their own (see ``tests/security/world.py``).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.security.world import ROLES, World, headers_for, hidden_inputs

Status = int | str


def R(anon: Status, worker: Status, other: Status, org: Status, owner: Status) -> dict[str, Status]:
    """Expected statuses in the column order of the matrix ("login": a redirect to /login)."""
    return {"anonymous": anon, "worker": worker, "other": other, "organizer": org, "owner": owner}


NEW_PASSWORD = "a-fresh-password-for-sign-up"
# Shorthands for the common shapes.
OPEN_TO_ALL = R(anon=200, worker=200, other=200, org=200, owner=200)
# Optional sign-in: an unknown bearer token (the worker's, here) is refused, not ignored.
PUBLIC = R(anon=200, worker=401, other=200, org=200, owner=200)
SIGNED_IN = R(anon=401, worker=401, other=200, org=200, owner=200)
TEAM_OR_ORGANIZER = R(anon=401, worker=401, other=404, org=200, owner=200)


def ORGANIZERS(ok: int = 200) -> dict[str, Status]:
    return R(anon=401, worker=401, other=403, org=ok, owner=403)


def CONSOLE(ok: int = 200) -> dict[str, Status]:
    """/manage pages: sign in first (the worker token is no browser), then ORGANIZERS."""
    return R(anon="login", worker="login", other=403, org=ok, owner=403)


def CONSOLE_DRAFT(ok: int = 200) -> dict[str, Status]:
    """/manage pages of a draft: as the API, a draft does not exist for those who do
    not manage it (404); a host needs no organizer role."""
    return R(anon="login", worker="login", other=404, org=ok, owner=404)


def WORKERS(ok: int = 200) -> dict[str, Status]:
    return R(anon=401, worker=ok, other=403, org=403, owner=403)


Builder = Callable[[World, str], Any]


@dataclass
class Row:
    expect: dict[str, Status]
    on: str = "main"
    query: dict[str, str] | Builder = field(default_factory=dict)
    json: Builder | None = None
    content: Builder | None = None
    files: Builder | None = None
    data: Builder | None = None
    params: dict[str, Builder] = field(default_factory=dict)
    why: str = ""


def _fresh_name(prefix: str) -> Builder:
    counter = iter(range(10_000))
    return lambda world, role: f"{prefix}{role[:3]}{next(counter)}"


def _spare_token(world: World, role: str) -> int:
    """A token of alan's to revoke (a fresh one per call)."""
    from tests.conftest import PASSWORD

    response = world.api.post(
        "/api/v1/tokens", json={"username": "alan", "password": PASSWORD, "name": "spare"}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _csv_upload(world: World, role: str) -> dict[str, Any]:
    content = world.hidden.predictions(5, 5)
    return {"file": ("p.csv", io.BytesIO(content), "text/csv")}


_roster_name = _fresh_name("pageroll")


def _roster_upload(world: World, role: str) -> dict[str, Any]:
    content = f"username,display_name\n{_roster_name(world, role)},Ann\n".encode()
    return {"roster": ("roster.csv", io.BytesIO(content), "text/csv")}


def _team_a_code(world: World, role: str) -> dict[str, str]:
    response = world.api.post(
        f"/api/v1/challenges/{world.slugs['side']}/team/invite",
        headers={"Authorization": f"Bearer {world.tokens['alice']}"},
    )
    assert response.status_code == 200, response.text
    return {"code": response.json()["code"]}


_spare_name = _fresh_name("spare ")


def _spare_baseline(world: World, role: str) -> str:
    """A baseline of the 'side' challenge to delete (a fresh one per call)."""
    name = _spare_name(world, role)
    response = world.api.post(
        f"/api/v1/challenges/{world.slugs['side']}/baselines",
        files=_csv_upload(world, role),
        data={"name": name},
        headers={"Authorization": f"Bearer {world.tokens['organizer']}"},
    )
    assert response.status_code == 201, response.text
    return name


def _spare_announcement(world: World, role: str) -> int:
    response = world.api.post(
        f"/api/v1/challenges/{world.slugs['side']}/announcements",
        json={"title": "Spare", "body": ""},
        headers={"Authorization": f"Bearer {world.tokens['organizer']}"},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _bundle_zip(world: World, role: str, prefix: str = "bundled-") -> bytes:
    """A bundle of a new challenge (a fresh slug per call)."""
    import zipfile

    slug = _fresh_name(prefix)(world, role)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("challenge.yaml", f"slug: {slug}\ntitle: B\nmetric: accuracy\n")
        archive.writestr("solution.csv", world.hidden.solution_csv())
        archive.writestr("files/train.csv", b"id,x\n0,1\n")
    return buffer.getvalue()


_PAGED = _fresh_name("paged-")
_CLONED = _fresh_name("cloned-")


def _settings_form(world: World, role: str, **changes: str) -> dict[str, Any]:
    """The console's create/edit form, complete and valid unless ``changes`` say otherwise."""
    form: dict[str, Any] = {
        "csrf_token": _csrf(world, role),
        "slug": _PAGED(world, role),
        "title": "Made in the browser",
        "metric": "accuracy",
        "visibility": "public",
        "max_team_size": "4",
        "final_selection_count": "2",
        "limits.per_day": "5",
        "submission_kinds": ["csv"],
        "checkpoint_spec.input_shape": "1, 28, 28",
        "checkpoint_spec.formats": ["safetensors"],
    }
    return form | changes


def _page_upload(name: str, content: bytes) -> Builder:
    return lambda world, role: {"file": (name, io.BytesIO(content), "application/octet-stream")}


# ONE table: (method, path, variant) -> expected status per role. ``variant``
# tells apart several requests to the same route (another challenge, a query).
MATRIX: dict[tuple[str, str, str], Row] = {
    # ---- meta ---------------------------------------------------------------------------
    ("GET", "/api/v1/health", ""): Row(OPEN_TO_ALL),
    ("GET", "/api/v1/ping", ""): Row(OPEN_TO_ALL),
    ("GET", "/openapi.json", ""): Row(OPEN_TO_ALL),
    # ---- accounts -----------------------------------------------------------------------
    ("POST", "/api/v1/users", ""): Row(
        R(anon=201, worker=401, other=201, org=201, owner=201),
        json=lambda w, r: {"username": _fresh_name("new")(w, r), "password": NEW_PASSWORD},
        why="sign-up is open by default (PODIUM_ALLOW_SIGNUP); an unknown bearer token is refused",
    ),
    # The accounts routes are also rows of tests/security/test_authz_accounts.py, with the
    # roles of a course (invited, host, organizer who does not host, admin, disabled).
    ("GET", "/api/v1/users", ""): Row(
        R(anon=401, worker=401, other=403, org=403, owner=403), why="admins only"
    ),
    ("POST", "/api/v1/users/import", ""): Row(
        ORGANIZERS(201), content=lambda w, r: f"username\n{_fresh_name('roster')(w, r)}\n".encode()
    ),
    ("PATCH", "/api/v1/users/{username}", ""): Row(
        R(anon=401, worker=401, other=403, org=403, owner=403),
        json=lambda w, r: {"display_name": "Alice"},
        why="admins only",
    ),
    ("POST", "/api/v1/users/{username}/reset-link", ""): Row(
        ORGANIZERS(), why="alice takes part in olga's challenges"
    ),
    ("PUT", "/api/v1/me/password", ""): Row(
        R(anon=401, worker=401, other=403, org=403, owner=403),
        json=lambda w, r: {"current_password": "not-the-password", "new_password": NEW_PASSWORD},
        why="a wrong current password; the change itself is in test_authz_accounts.py",
    ),
    ("POST", "/api/v1/tokens", ""): Row(
        R(anon=201, worker=201, other=201, org=201, owner=201),
        json=lambda w, r: {"username": "alan", "password": _password()},
        why="a password login needs no prior credentials",
    ),
    ("GET", "/api/v1/tokens", ""): Row(SIGNED_IN, why="lists the caller's own tokens"),
    ("GET", "/api/v1/me", ""): Row(SIGNED_IN),
    ("DELETE", "/api/v1/tokens/{token_id}", ""): Row(
        R(anon=401, worker=401, other=404, org=404, owner=204),
        params={"token_id": _spare_token},
        why="only the token's own user may revoke it; organizers included",
    ),
    # ---- challenges ---------------------------------------------------------------------
    ("GET", "/api/v1/challenges", ""): Row(PUBLIC),
    ("POST", "/api/v1/challenges", ""): Row(
        ORGANIZERS(201),
        json=lambda w, r: {"slug": _fresh_name("new-")(w, r), "title": "T", "metric": "accuracy"},
    ),
    ("GET", "/api/v1/challenges/{slug}", ""): Row(PUBLIC),
    ("GET", "/api/v1/challenges/{slug}", "draft"): Row(
        R(anon=404, worker=401, other=404, org=200, owner=404),
        on="draft",
        why="drafts exist only for organizers",
    ),
    ("PATCH", "/api/v1/challenges/{slug}", ""): Row(
        ORGANIZERS(), json=lambda w, r: {"title": "Renamed"}
    ),
    ("GET", "/api/v1/challenges/{slug}/files", ""): Row(PUBLIC),
    ("GET", "/api/v1/challenges/{slug}/files", "draft"): Row(
        R(anon=404, worker=401, other=404, org=200, owner=404), on="draft"
    ),
    ("GET", "/api/v1/challenges/{slug}/files/{name}", ""): Row(
        SIGNED_IN, why="downloads need an account (the rules were accepted)"
    ),
    ("GET", "/api/v1/challenges/{slug}/files/{name}", "draft"): Row(
        R(anon=404, worker=401, other=404, org=200, owner=404), on="draft"
    ),
    ("PUT", "/api/v1/challenges/{slug}/files/{name}", ""): Row(
        ORGANIZERS(201),
        content=lambda w, r: b"id,x\n1,2\n",
        params={"name": lambda w, r: "new.csv"},
    ),
    ("PUT", "/api/v1/challenges/{slug}/solution", ""): Row(
        ORGANIZERS(), content=lambda w, r: w.hidden.solution_csv()
    ),
    ("PUT", "/api/v1/challenges/{slug}/hidden-inputs", ""): Row(
        ORGANIZERS(), content=lambda w, r: hidden_inputs()
    ),
    ("POST", "/api/v1/challenges/{slug}/finalize", ""): Row(ORGANIZERS(), on="to_finalize"),
    ("POST", "/api/v1/challenges/{slug}/rescore", ""): Row(ORGANIZERS(), on="side"),
    # ---- baselines, announcements, bundles and clones -----------------------------------
    ("POST", "/api/v1/challenges/{slug}/baselines", ""): Row(
        ORGANIZERS(201),
        on="side",
        files=_csv_upload,
        data=lambda w, r: {"name": _fresh_name("base ")(w, r)},
    ),
    ("GET", "/api/v1/challenges/{slug}/baselines", ""): Row(PUBLIC),
    ("GET", "/api/v1/challenges/{slug}/baselines", "draft"): Row(
        R(anon=404, worker=401, other=404, org=200, owner=404), on="draft"
    ),
    ("DELETE", "/api/v1/challenges/{slug}/baselines/{name}", ""): Row(
        ORGANIZERS(204), on="side", params={"name": _spare_baseline}
    ),
    ("POST", "/api/v1/challenges/{slug}/announcements", ""): Row(
        ORGANIZERS(201), on="side", json=lambda w, r: {"title": "News", "body": "*Hello*"}
    ),
    ("GET", "/api/v1/challenges/{slug}/announcements", ""): Row(PUBLIC),
    ("GET", "/api/v1/challenges/{slug}/announcements", "draft"): Row(
        R(anon=404, worker=401, other=404, org=200, owner=404), on="draft"
    ),
    ("DELETE", "/api/v1/challenges/{slug}/announcements/{announcement_id}", ""): Row(
        ORGANIZERS(204), on="side", params={"announcement_id": _spare_announcement}
    ),
    ("GET", "/api/v1/challenge-bundles/schema", ""): Row(
        OPEN_TO_ALL, why="the JSON Schema of challenge.yaml: public documentation"
    ),
    ("POST", "/api/v1/challenge-bundles", ""): Row(
        R(anon=401, worker=401, other=403, org=201, owner=403), content=_bundle_zip
    ),
    ("GET", "/api/v1/challenges/{slug}/bundle", ""): Row(
        ORGANIZERS(), why="a bundle holds the solution and the hidden inputs: hosts only"
    ),
    ("GET", "/api/v1/challenges/{slug}/bundle", "draft"): Row(
        R(anon=401, worker=401, other=404, org=200, owner=404),
        on="draft",
        why="a draft exists only for its managers",
    ),
    ("POST", "/api/v1/challenges/{slug}/clone", ""): Row(
        ORGANIZERS(201),
        json=lambda w, r: {"slug": _fresh_name("clone-")(w, r), "title": "Copy"},
    ),
    # ---- people of a challenge (managers: its creator olga, hosts, admins) -------------
    ("GET", "/api/v1/challenges/{slug}/hosts", ""): Row(ORGANIZERS()),
    ("POST", "/api/v1/challenges/{slug}/hosts", ""): Row(
        ORGANIZERS(201), json=lambda w, r: {"username": "olga"}, why="the creator: a no-op"
    ),
    ("DELETE", "/api/v1/challenges/{slug}/hosts/{username}", ""): Row(
        ORGANIZERS(404), params={"username": lambda w, r: "bob"}, why="bob hosts nothing"
    ),
    ("GET", "/api/v1/challenges/{slug}/participants", ""): Row(ORGANIZERS()),
    ("POST", "/api/v1/challenges/{slug}/participants", ""): Row(
        ORGANIZERS(), json=lambda w, r: {"usernames": ["bob"]}
    ),
    ("POST", "/api/v1/challenges/{slug}/participants/{username}/approve", ""): Row(
        ORGANIZERS(), params={"username": lambda w, r: "bob"}, why="bob already takes part"
    ),
    ("POST", "/api/v1/challenges/{slug}/participants/{username}/reject", ""): Row(
        ORGANIZERS(409), params={"username": lambda w, r: "bob"}, why="bob already takes part"
    ),
    ("POST", "/api/v1/challenges/{slug}/invite-link", ""): Row(ORGANIZERS()),
    # ---- teams --------------------------------------------------------------------------
    ("POST", "/api/v1/challenges/{slug}/join", ""): Row(
        R(anon=401, worker=401, other=200, org=403, owner=200),
        on="side",
        why="accepting the rules; the creator manages it and may not take part",
    ),
    ("GET", "/api/v1/challenges/{slug}/team", ""): Row(
        R(anon=401, worker=401, other=200, org=404, owner=200),
        why="the caller's own team; the organizer has none in 'main'",
    ),
    ("PATCH", "/api/v1/challenges/{slug}/team", ""): Row(
        R(anon=401, worker=401, other=200, org=404, owner=200),
        json=lambda w, r: {"name": w.team_names.get(r, "nobody")},
        why="renames the caller's own team (to its current name here)",
    ),
    ("POST", "/api/v1/challenges/{slug}/team/invite", ""): Row(
        R(anon=401, worker=401, other=200, org=404, owner=200),
        why="the caller's own team's code; never another team's",
    ),
    ("POST", "/api/v1/challenges/{slug}/team/join", ""): Row(
        R(anon=401, worker=401, other=200, org=403, owner=409),
        on="side",
        json=_team_a_code,
        why="whoever holds the code may join (up to the size cap), but not a manager; "
        "a member is already in",
    ),
    # ---- submissions --------------------------------------------------------------------
    ("POST", "/api/v1/challenges/{slug}/submissions", ""): Row(
        R(anon=401, worker=401, other=201, org=403, owner=201),
        files=_csv_upload,
        why="the challenge's managers may not take part",
    ),
    ("GET", "/api/v1/challenges/{slug}/submissions", ""): Row(
        SIGNED_IN, why="each caller sees its own team's rows (checked by the leak hunt)"
    ),
    ("PUT", "/api/v1/challenges/{slug}/selection", ""): Row(
        R(anon=401, worker=401, other=404, org=404, owner=200),
        json=lambda w, r: {"submission_ids": [w.submissions["a1"]]},
        why="only a member of the submission's team may select it",
    ),
    ("GET", "/api/v1/submissions/{submission_id}", ""): Row(TEAM_OR_ORGANIZER),
    ("GET", "/api/v1/submissions/{submission_id}/file", ""): Row(
        TEAM_OR_ORGANIZER, why="anyone downloading anyone's submission (EvalAI, Codabench)"
    ),
    ("POST", "/api/v1/submissions/{submission_id}/cancel", ""): Row(
        R(anon=401, worker=401, other=404, org=403, owner=409),
        why="only the submitting team may cancel, and only while queued or running "
        "(this one is scored)",
    ),
    # ---- leaderboards and exports -------------------------------------------------------
    ("GET", "/api/v1/challenges/{slug}/leaderboard", ""): Row(PUBLIC),
    ("GET", "/api/v1/challenges/{slug}/leaderboard", "private"): Row(
        R(anon=403, worker=401, other=403, org=200, owner=403),
        query={"board": "private"},
        why="the private board is revealed at finalization (organizers see it before)",
    ),
    ("GET", "/api/v1/challenges/{slug}/leaderboard", "private, finalized"): Row(
        PUBLIC, on="finalized", query={"board": "private"}
    ),
    ("GET", "/api/v1/challenges/{slug}/export", ""): Row(ORGANIZERS()),
    ("GET", "/api/v1/challenges/{slug}/export", "private json"): Row(
        ORGANIZERS(), query={"board": "private", "format": "json"}
    ),
    ("GET", "/api/v1/challenges/{slug}/submissions-archive", ""): Row(ORGANIZERS()),
    ("GET", "/api/v1/challenges/{slug}/shake-up", ""): Row(
        R(anon=403, worker=401, other=403, org=200, owner=403),
        why="public against private ranks: organizers before finalization, everyone after",
    ),
    ("GET", "/api/v1/challenges/{slug}/shake-up", "finalized"): Row(PUBLIC, on="finalized"),
    ("GET", "/api/v1/challenges/{slug}/atlas", ""): Row(
        PUBLIC, why="aggregates of public scores only until finalized (the leak crawl checks)"
    ),
    ("GET", "/api/v1/challenges/{slug}/atlas", "after finalize"): Row(
        R(anon=403, worker=401, other=403, org=200, owner=403),
        on="side",
        why="atlas_visibility after_finalize: its hosts only until finalized",
    ),
    # ---- notifications ------------------------------------------------------------------
    ("GET", "/api/v1/challenges/{slug}/webhooks", ""): Row(
        ORGANIZERS(), why="webhook URLs are secrets (anyone holding one can post)"
    ),
    ("POST", "/api/v1/challenges/{slug}/webhooks/test", ""): Row(
        ORGANIZERS(409), why="the organizer gets past auth; no webhook is configured"
    ),
    # ---- the worker API and the queue views ---------------------------------------------
    ("POST", "/api/v1/worker/submissions/{submission_id}/claim", ""): Row(
        WORKERS(409),
        json=lambda w, r: {"worker": "matrix"},
        why="the worker gets past auth; a scored submission has nothing to claim",
    ),
    ("POST", "/api/v1/worker/submissions/{submission_id}/heartbeat", ""): Row(
        WORKERS(409), json=lambda w, r: {"attempt": "matrix:stale"}
    ),
    ("POST", "/api/v1/worker/submissions/{submission_id}/result", ""): Row(
        WORKERS(409),
        json=lambda w, r: {"attempt": "matrix:stale", "public_score": 1.0, "private_score": 1.0},
        why="a stale attempt cannot overwrite a score",
    ),
    ("GET", "/api/v1/worker/blobs/{sha256}", ""): Row(
        WORKERS(), why="the hidden solution, by sha256: workers only"
    ),
    ("GET", "/api/v1/worker/blobs/{sha256}", "a submission"): Row(
        WORKERS(), params={"sha256": lambda w, r: w.spare["a1_sha256"]}
    ),
    ("GET", "/api/v1/queue", ""): Row(ORGANIZERS()),
    ("GET", "/api/v1/challenges/{slug}/queue", ""): Row(ORGANIZERS()),
    ("POST", "/api/v1/challenges/{slug}/queue/requeue", ""): Row(
        ORGANIZERS(), on="side", json=lambda w, r: {}, why="no platform failure: an empty list"
    ),
    # ---- pages (the session cookie; forms carry the CSRF token) -------------------------
    ("GET", "/", ""): Row(OPEN_TO_ALL),
    ("GET", "/c/{slug}", ""): Row(OPEN_TO_ALL),
    ("GET", "/c/{slug}", "draft"): Row(
        R(anon=404, worker=404, other=404, org=200, owner=404), on="draft"
    ),
    ("GET", "/c/{slug}", "private board asked for"): Row(
        OPEN_TO_ALL, query={"board": "private"}, why="pages fall back to the public board"
    ),
    ("GET", "/c/{slug}/teams/{team}", ""): Row(
        OPEN_TO_ALL, why="a public team page; the leak hunt checks what it shows"
    ),
    ("GET", "/c/{slug}/teams/{team}", "draft"): Row(
        R(anon=404, worker=404, other=404, org=404, owner=404),
        on="draft",
        why="the draft is hidden; even for organizers it has no team-a",
    ),
    ("GET", "/c/{slug}/shake-up", ""): Row(
        R(anon=403, worker=403, other=403, org=403, owner=403),
        why="pages show private ranks only after finalization, even to organizers (projectors)",
    ),
    ("GET", "/c/{slug}/shake-up", "finalized"): Row(OPEN_TO_ALL, on="finalized"),
    ("GET", "/c/{slug}/atlas", ""): Row(
        OPEN_TO_ALL, why="aggregates of public scores only until finalized (the leak crawl checks)"
    ),
    ("GET", "/c/{slug}/atlas", "after finalize"): Row(
        R(anon=403, worker=403, other=403, org=200, owner=403),
        on="side",
        why="atlas_visibility after_finalize: its hosts only until finalized",
    ),
    ("GET", "/c/{slug}/submissions/compare", ""): Row(
        R(anon="login", worker="login", other=200, org=200, owner=200),
        why="without a and b: a form listing the viewer's own submissions",
    ),
    ("GET", "/c/{slug}/submissions/compare", "team A's two"): Row(
        R(anon="login", worker="login", other=404, org=200, owner=200),
        query=lambda w, r: {"a": str(w.submissions["a1"]), "b": str(w.submissions["a2"])},
        why="only the team's own submissions (its hosts: any of the challenge's)",
    ),
    ("GET", "/c/{slug}/submissions/compare", "one of another challenge"): Row(
        R(anon="login", worker="login", other=404, org=404, owner=404),
        on="side",
        query=lambda w, r: {"a": str(w.submissions["a1"]), "b": str(w.submissions["a2"])},
    ),
    ("GET", "/c/{slug}/submissions", ""): Row(
        R(anon="login", worker="login", other=200, org=200, owner=200)
    ),
    ("POST", "/c/{slug}/submissions", ""): Row(
        R(anon="login", worker="login", other=303, org=403, owner=303),
        files=_csv_upload,
        data=lambda w, r: {"csrf_token": _csrf(w, r), "message": "from the page"},
    ),
    ("POST", "/c/{slug}/submissions", "no csrf"): Row(
        R(anon="login", worker="login", other=403, org=403, owner=403),
        files=_csv_upload,
        why="a cross-site form cannot submit in a participant's name",
    ),
    ("POST", "/c/{slug}/selection", ""): Row(
        R(anon="login", worker="login", other=404, org=404, owner=303),
        data=lambda w, r: {"csrf_token": _csrf(w, r), "submission_ids": [w.submissions["a1"]]},
    ),
    ("POST", "/c/{slug}/submissions/{submission_id}/cancel", ""): Row(
        R(anon="login", worker="login", other=404, org=403, owner=409),
        data=lambda w, r: {"csrf_token": _csrf(w, r)},
        why="the cancel button: as POST /api/v1/submissions/{id}/cancel (this one is scored)",
    ),
    ("POST", "/c/{slug}/submissions/{submission_id}/cancel", "no csrf"): Row(
        R(anon="login", worker="login", other=403, org=403, owner=403),
        why="a cross-site form cannot cancel a team's submission",
    ),
    ("POST", "/c/{slug}/join", ""): Row(
        R(anon="login", worker="login", other=303, org=403, owner=303),
        on="side",
        data=lambda w, r: {"csrf_token": _csrf(w, r)},
    ),
    ("POST", "/c/{slug}/join", "no csrf"): Row(
        R(anon="login", worker="login", other=403, org=403, owner=403), on="side"
    ),
    ("GET", "/login", ""): Row(OPEN_TO_ALL),
    ("POST", "/login", ""): Row(
        R(anon=303, worker=303, other=303, org=303, owner=303),
        data=lambda w, r: {"csrf_token": _csrf(w, r), "username": "alan", "password": _password()},
    ),
    ("POST", "/login", "no csrf"): Row(
        R(anon=403, worker=403, other=403, org=403, owner=403),
        data=lambda w, r: {"username": "alan", "password": _password()},
        why="login CSRF: a foreign site cannot sign a visitor into its account",
    ),
    ("GET", "/signup", ""): Row(OPEN_TO_ALL),
    ("POST", "/signup", ""): Row(
        R(anon=303, worker=303, other=303, org=303, owner=303),
        data=lambda w, r: {
            "csrf_token": _csrf(w, r),
            "username": _fresh_name("web")(w, r),
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    ),
    ("POST", "/logout", ""): Row(
        R(anon=303, worker=303, other=303, org=303, owner=303),
        data=lambda w, r: {"csrf_token": _csrf(w, r)},
        why="ends a browser session; API tokens used as cookies here stay valid",
    ),
    ("GET", "/docs", ""): Row(OPEN_TO_ALL),
    ("GET", "/static/{path}", ""): Row(OPEN_TO_ALL),
    # ---- organizer console (/manage: the API's management check, for pages) --------------
    ("GET", "/manage", ""): Row(CONSOLE()),
    ("GET", "/manage/{slug}", ""): Row(CONSOLE()),
    ("GET", "/manage/{slug}", "draft"): Row(CONSOLE_DRAFT(), on="draft"),
    ("GET", "/manage/{slug}/{action}", ""): Row(
        CONSOLE(), on="to_finalize", params={"action": lambda w, r: "finalize"}
    ),
    ("POST", "/manage/{slug}/{action}", "rescore"): Row(
        CONSOLE(303),
        on="side",
        params={"action": lambda w, r: "rescore"},
        data=lambda w, r: {"csrf_token": _csrf(w, r), "confirmed": "yes"},
    ),
    ("POST", "/manage/{slug}/{action}", "unconfirmed"): Row(
        CONSOLE(200),
        on="to_finalize",
        params={"action": lambda w, r: "finalize"},
        data=lambda w, r: {"csrf_token": _csrf(w, r)},
        why="without 'confirmed' the form answers with the confirmation step, changing nothing",
    ),
    ("POST", "/manage/{slug}/{action}", "finalized already"): Row(
        CONSOLE(409),
        on="finalized",
        params={"action": lambda w, r: "finalize"},
        data=lambda w, r: {"csrf_token": _csrf(w, r), "confirmed": "yes"},
        why="past the permission check, the service refuses (as POST .../finalize does)",
    ),
    ("POST", "/manage/{slug}/{action}", "no csrf"): Row(
        R(anon="login", worker="login", other=403, org=403, owner=403),
        on="to_finalize",
        params={"action": lambda w, r: "finalize"},
        data=lambda w, r: {"confirmed": "yes"},
        why="a cross-site form post is refused before anything else",
    ),
    # ---- console pages of one challenge: people, submissions, queue, news, exports -------
    ("GET", "/manage/{slug}/people", ""): Row(CONSOLE()),
    ("GET", "/manage/{slug}/people", "draft"): Row(
        R(anon="login", worker="login", other=404, org=200, owner=404),
        on="draft",
        why="as GET .../participants: a draft does not exist for those who do not manage it",
    ),
    ("GET", "/manage/{slug}/submissions", ""): Row(CONSOLE()),
    ("GET", "/manage/{slug}/submissions", "filtered"): Row(
        CONSOLE(),
        query={"team": "team-a", "status": "scored", "kind": "csv", "since": "2000-01-01"},
    ),
    ("GET", "/manage/{slug}/queue", ""): Row(CONSOLE()),
    ("GET", "/manage/{slug}/announcements", ""): Row(CONSOLE()),
    ("GET", "/manage/{slug}/baselines", ""): Row(CONSOLE()),
    ("GET", "/manage/{slug}/exports", ""): Row(CONSOLE()),
    ("GET", "/manage/{slug}/exports/participants.csv", ""): Row(CONSOLE()),
    ("POST", "/manage/{slug}/people/roster", ""): Row(
        CONSOLE(),
        on="side",
        files=_roster_upload,
        data=lambda w, r: {"csrf_token": _csrf(w, r), "invite": "yes"},
        why="the answer shows the one-time links (and their CSV) once",
    ),
    ("POST", "/manage/{slug}/people/roster", "no csrf"): Row(
        R(anon="login", worker="login", other=403, org=403, owner=403),
        on="side",
        files=_roster_upload,
        why="checked before the body is read: sign-in and management; then the token",
    ),
    ("POST", "/manage/{slug}/people/reset-link", ""): Row(
        CONSOLE(),
        data=lambda w, r: {"csrf_token": _csrf(w, r), "username": "alice"},
        why="alice takes part in olga's challenges",
    ),
    ("POST", "/manage/{slug}/people/hosts", ""): Row(
        CONSOLE(303),
        data=lambda w, r: {"csrf_token": _csrf(w, r), "username": "olga"},
        why="the creator: a no-op",
    ),
    ("POST", "/manage/{slug}/people/hosts/remove", ""): Row(
        CONSOLE(404),
        data=lambda w, r: {"csrf_token": _csrf(w, r), "username": "bob"},
        why="bob hosts nothing (the API's 404, on the page)",
    ),
    ("POST", "/manage/{slug}/people/requests", ""): Row(
        CONSOLE(303),
        data=lambda w, r: {"csrf_token": _csrf(w, r), "username": "bob", "decision": "approve"},
        why="bob already takes part",
    ),
    ("POST", "/manage/{slug}/people/disqualify", "no csrf"): Row(
        R(anon="login", worker="login", other=403, org=403, owner=403),
        data=lambda w, r: {"team": "team-a", "reason": "a cross-site form"},
        why="a cross-site form post is refused before anything else",
    ),
    ("POST", "/manage/{slug}/queue/requeue", ""): Row(
        CONSOLE(303),
        on="side",
        data=lambda w, r: {"csrf_token": _csrf(w, r), "every": "yes"},
        why="no platform failure there: nothing to queue again",
    ),
    ("POST", "/manage/{slug}/queue/requeue", "not a platform failure"): Row(
        CONSOLE(409),
        on="side",
        data=lambda w, r: {"csrf_token": _csrf(w, r), "submission_ids": [w.submissions["a1"]]},
        why="the service's 409: only platform failures of this challenge are requeued",
    ),
    ("POST", "/manage/{slug}/announcements", ""): Row(
        CONSOLE(303),
        on="side",
        data=lambda w, r: {"csrf_token": _csrf(w, r), "title": "News", "body": "*Hi*"},
    ),
    ("POST", "/manage/{slug}/announcements", "preview"): Row(
        CONSOLE(),
        on="side",
        data=lambda w, r: {"csrf_token": _csrf(w, r), "title": "N", "intent": "preview"},
        why="a preview stores nothing",
    ),
    ("POST", "/manage/{slug}/announcements/delete", ""): Row(
        CONSOLE(303),
        on="side",
        data=lambda w, r: {"csrf_token": _csrf(w, r), "announcement_id": _spare_announcement(w, r)},
    ),
    ("POST", "/manage/{slug}/baselines", ""): Row(
        CONSOLE(303),
        on="side",
        files=_csv_upload,
        data=lambda w, r: {"csrf_token": _csrf(w, r), "name": _fresh_name("page ")(w, r)},
    ),
    ("POST", "/manage/{slug}/baselines/delete", ""): Row(
        CONSOLE(303),
        on="side",
        data=lambda w, r: {"csrf_token": _csrf(w, r), "name": _spare_baseline(w, r)},
    ),
    # ---- console setup pages (manage_setup.py, manage_data.py) -----------------------------
    ("GET", "/manage/new", ""): Row(CONSOLE()),
    ("POST", "/manage/new", ""): Row(CONSOLE(303), data=_settings_form),
    ("POST", "/manage/new", "refused"): Row(
        CONSOLE(422),
        data=lambda w, r: _settings_form(w, r, title=""),
        why="the API's schema refuses the form: it comes back with the messages",
    ),
    ("POST", "/manage/new", "no csrf"): Row(
        R(anon="login", worker="login", other=403, org=403, owner=403),
        data=lambda w, r: _settings_form(w, r, csrf_token=""),
        why="a cross-site form post is refused",
    ),
    ("POST", "/manage/new/bundle", ""): Row(
        CONSOLE(303),
        files=lambda w, r: {
            "file": ("b.zip", io.BytesIO(_bundle_zip(w, r, "page-bundled-")), "application/zip")
        },
        data=lambda w, r: {"csrf_token": _csrf(w, r)},
        why="the sign-in and organizer checks run before the upload is read",
    ),
    ("GET", "/manage/{slug}/edit", ""): Row(CONSOLE()),
    ("GET", "/manage/{slug}/edit", "draft"): Row(CONSOLE_DRAFT(), on="draft"),
    ("POST", "/manage/{slug}/edit", ""): Row(
        CONSOLE(422),
        on="side",
        data=lambda w, r: _settings_form(w, r, title=""),
        why="a refused form changes nothing (saving: tests/web/test_manage_setup.py)",
    ),
    ("POST", "/manage/{slug}/edit", "no csrf"): Row(
        R(anon="login", worker="login", other=403, org=403, owner=403),
        on="side",
        data=lambda w, r: _settings_form(w, r, csrf_token="", title=""),
    ),
    ("GET", "/manage/{slug}/clone", ""): Row(CONSOLE()),
    ("POST", "/manage/{slug}/clone", ""): Row(
        CONSOLE(303),
        on="side",
        data=lambda w, r: {
            "csrf_token": _csrf(w, r),
            "slug": _CLONED(w, r),
            "title": "Copy",
        },
    ),
    ("GET", "/manage/{slug}/data", ""): Row(CONSOLE()),
    ("GET", "/manage/{slug}/data", "draft"): Row(CONSOLE_DRAFT(), on="draft"),
    ("POST", "/manage/{slug}/data/files", ""): Row(
        CONSOLE(303),
        on="side",
        files=_page_upload("notes.txt", b"read me\n"),
        data=lambda w, r: {"csrf_token": _csrf(w, r)},
        why="the sign-in, organizer and host checks run before the upload is read",
    ),
    ("POST", "/manage/{slug}/data/files", "draft"): Row(
        CONSOLE_DRAFT(303),
        on="draft",
        files=_page_upload("notes.txt", b"read me\n"),
        data=lambda w, r: {"csrf_token": _csrf(w, r)},
    ),
    ("POST", "/manage/{slug}/data/solution", ""): Row(
        CONSOLE(422),
        on="side",
        files=_page_upload("s.csv", b"id,label,usage\n0,1,somewhere\n"),
        data=lambda w, r: {"csrf_token": _csrf(w, r)},
        why="past the checks, put_solution refuses it as PUT .../solution does",
    ),
    ("POST", "/manage/{slug}/data/hidden-inputs", ""): Row(
        CONSOLE(422),
        on="side",
        files=_page_upload("h.npy", b"not an array"),
        data=lambda w, r: {"csrf_token": _csrf(w, r)},
    ),
    ("GET", "/account", ""): Row(R(anon="login", worker="login", other=200, org=200, owner=200)),
    ("POST", "/account/password", ""): Row(
        R(anon="login", worker="login", other=403, org=403, owner=403),
        data=lambda w, r: {
            "csrf_token": _csrf(w, r),
            "current": "not-the-password",
            "new": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
        why="a wrong current password (the change: test_authz_accounts.py)",
    ),
    ("GET", "/welcome/{secret}", ""): Row(
        R(anon=404, worker=404, other=404, org=404, owner=404), why="no such link"
    ),
    ("POST", "/welcome/{secret}", ""): Row(
        R(anon=404, worker=404, other=404, org=404, owner=404),
        data=lambda w, r: {"csrf_token": _csrf(w, r), "password": NEW_PASSWORD, "confirm": "x"},
        why="no such link",
    ),
    ("GET", "/c/{slug}/join/{code}", ""): Row(
        R(anon="login", worker="login", other=404, org=404, owner=404), why="a wrong code"
    ),
    ("POST", "/c/{slug}/join/{code}", ""): Row(
        R(anon="login", worker="login", other=404, org=404, owner=404),
        data=lambda w, r: {"csrf_token": _csrf(w, r)},
        why="a wrong code",
    ),
    # Last: they change what team-a's pages show.
    ("POST", "/api/v1/challenges/{slug}/teams/{team}/disqualify", ""): Row(
        ORGANIZERS(), json=lambda w, r: {"reason": "copied another team's file"}
    ),
    ("POST", "/api/v1/challenges/{slug}/teams/{team}/reinstate", ""): Row(ORGANIZERS()),
    ("POST", "/manage/{slug}/people/disqualify", ""): Row(
        CONSOLE(303),
        data=lambda w, r: {"csrf_token": _csrf(w, r), "team": "team-a", "reason": "copied"},
    ),
    ("POST", "/manage/{slug}/people/reinstate", ""): Row(
        CONSOLE(303), data=lambda w, r: {"csrf_token": _csrf(w, r), "team": "team-a"}
    ),
}

# The anonymous CSRF nonce the matrix's browser holds (cookie ``podium_csrf``).
NONCE = "matrix-nonce"


def _csrf(world: World, role: str) -> str:
    """The token a page would have put in its forms for this role's browser."""
    from server.accounts.sessions import csrf_token
    from server.config import get_settings
    from server.web.context import NONCE_PREFIX

    token = world.tokens.get(role)
    seed = token if token and token.startswith("pod_") else NONCE_PREFIX + NONCE
    return csrf_token(get_settings().secret_key, seed)


def _password() -> str:
    from tests.conftest import PASSWORD

    return PASSWORD


def app_routes(app: Any) -> list[Any]:
    """The app's routes, with included routers flattened (FastAPI >= 0.16x includes lazily)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def route_keys(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, HEAD and OPTIONS aside."""
    keys: set[tuple[str, str]] = set()
    for route in app_routes(app):
        path = getattr(route, "path_format", None) or route.path
        methods = getattr(route, "methods", None)
        if methods is None:  # a mount (static files): GET anything below it
            keys.add(("GET", path if "{" in path else path + "/{path}"))
            continue
        keys |= {(method, path) for method in methods if method not in ("HEAD", "OPTIONS")}
    return keys


def test_every_route_has_a_declared_row(app: Any) -> None:
    served = route_keys(app)
    declared = {(method, path) for method, path, _ in MATRIX}
    missing = sorted(served - declared)
    assert not missing, (
        "routes without a row in tests/security/test_authz_matrix.py MATRIX "
        "(declare who may call them):\n" + "\n".join(f"  {m} {p}" for m, p in missing)
    )
    gone = sorted(declared - served)
    assert not gone, "MATRIX rows for routes that no longer exist:\n" + "\n".join(
        f"  {m} {p}" for m, p in gone
    )


def _default_param(world: World, row: Row, name: str, role: str) -> Any:
    if name in row.params:
        return row.params[name](world, role)
    defaults: dict[str, Callable[[], Any]] = {
        "slug": lambda: world.slugs[row.on],
        "submission_id": lambda: world.submissions["a1"],
        "name": lambda: "train.csv",
        "team": lambda: world.team_names["owner"],
        "path": lambda: "img/podium.svg",
        "sha256": lambda: world.solution_sha256,
        "username": lambda: "alice",
        "secret": lambda: "no-such-sign-in-link",
        "code": lambda: "no-such-code",
    }
    if name not in defaults:
        raise AssertionError(f"no value for path parameter {{{name}}}: add it to Row.params")
    return defaults[name]()


def call(world: World, method: str, path: str, row: Row, role: str) -> Any:
    names = [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{")]
    url = path
    for name in names:
        value = _default_param(world, row, name, role)
        url = url.replace("{" + name + "}", str(value)).replace("{" + name + ":path}", str(value))
    headers = headers_for(world, role)
    # A browser of this role: its session cookie (pages read only the cookie) and the nonce.
    token = world.tokens.get(role)
    headers["Cookie"] = f"podium_csrf={NONCE}" + (f"; podium_session={token}" if token else "")
    query = row.query(world, role) if callable(row.query) else row.query
    kwargs: dict[str, Any] = {"headers": headers, "params": query, "follow_redirects": False}
    if row.json is not None:
        kwargs["json"] = row.json(world, role)
    if row.content is not None:
        kwargs["content"] = row.content(world, role)
    if row.files is not None:
        kwargs["files"] = row.files(world, role)
    if row.data is not None:
        kwargs["data"] = row.data(world, role)
    return world.api.request(method, url, **kwargs)


def test_authorization_matrix(world: World) -> None:
    """Every declared cell, against a populated world; all mismatches reported at once."""
    mismatches = []
    cells = 0
    for (method, path, variant), row in MATRIX.items():
        for role in ROLES:
            response = call(world, method, path, row, role)
            cells += 1
            expected = row.expect[role]
            got: Status = response.status_code
            if got in (302, 303, 307) and response.headers["location"].startswith("/login"):
                got = "login"
            if got != expected:
                mismatches.append(
                    f"  {method} {path} [{variant or 'default'}] as {role}: "
                    f"expected {expected}, got {got} {response.text[:120]!r}"
                )
            assert response.status_code < 500, (method, path, role, response.text)
    assert not mismatches, f"{len(mismatches)} of {cells} cells differ:\n" + "\n".join(mismatches)
    print(f"authorization matrix: {len(MATRIX)} rows x {len(ROLES)} roles = {cells} cells")
