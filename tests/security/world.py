"""A populated challenge with distinctive hidden numbers, built through the public API.

Everything the leak hunt looks for is chosen to be recognisable: the private
split has 81 rows, so private accuracies are multiples of 1/81 (0.1234567901...,
0.2469135802..., 0.5432098765...) that no timestamp, id or public score
resembles; the hidden labels are a seeded random digit sequence.

Roles, as the authorization matrix names them:

- ``owner``: alan, a member of team A (alice's team) that owns the submissions
  and tokens the routes are asked about (alice made the submissions, so the
  matrix checks team access, not just "my own rows");
- ``other``: bob, alone in team B, with submissions of his own;
- ``organizer``: olga;
- ``worker``: the worker token (``PODIUM_WORKER_TOKEN``);
- ``anonymous``: no credentials.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select

from server.db import session_scope
from server.leaderboard.bump import bump_board
from server.models import Challenge, Submission
from tests.conftest import auth

WORKER_TOKEN = "worker-token-for-the-security-suite-0123456789"
ROLES = ("anonymous", "worker", "other", "organizer", "owner")
ROWS = 100
PUBLIC_ROWS = 19
PRIVATE_ROWS = ROWS - PUBLIC_ROWS
LABEL_SEED = 20_240_917
# (public rows right, private rows right) for each scored submission.
SUBMISSION_PLAN = {"a1": (17, 10), "a2": (12, 20), "b1": (15, 44)}
# The hosts' baseline row in the main challenge (its private score is hidden too).
BASELINE_PLAN = (14, 33)
INPUT_SHAPE = [1, 2, 2]
# Parameter-budget tracks of the main challenge, and the measured size of the rows on
# them (a2 fits no track; the baseline fits "small"): their boards join the leak hunt.
TRACKS = [{"name": "tiny", "max_parameters": 100}, {"name": "small", "max_parameters": 10_000}]
MEASURED = {"a1": 50, "b1": 5_000, "a2": 1_000_000}
BASELINE_SIZE = 7_850


def headers_for(world: World, role: str) -> dict[str, str]:
    token = world.tokens.get(role)
    return auth(token) if token else {}


@dataclass
class Hidden:
    """The hidden labels and the split, and predictions built from them."""

    labels: list[int]
    public: list[bool]

    @classmethod
    def make(cls, seed: int = LABEL_SEED) -> Hidden:
        rng = random.Random(seed)
        labels = [rng.randrange(10) for _ in range(ROWS)]
        public_ids = set(rng.sample(range(ROWS), PUBLIC_ROWS))
        return cls(labels, [i in public_ids for i in range(ROWS)])

    @property
    def public_ids(self) -> list[int]:
        return [i for i, p in enumerate(self.public) if p]

    @property
    def private_ids(self) -> list[int]:
        return [i for i, p in enumerate(self.public) if not p]

    def solution_csv(self) -> bytes:
        rows = ["id,label,usage"] + [
            f"{i},{label},{'public' if p else 'private'}"
            for i, (label, p) in enumerate(zip(self.labels, self.public, strict=True))
        ]
        return ("\n".join(rows) + "\n").encode()

    def predictions(self, public_right: int, private_right: int) -> bytes:
        """Right on the first ``public_right`` public and ``private_right`` private rows."""
        right = set(self.public_ids[:public_right]) | set(self.private_ids[:private_right])
        lines = ["id,label"] + [
            f"{i},{label if i in right else (label + 1) % 10}"
            for i, label in enumerate(self.labels)
        ]
        return ("\n".join(lines) + "\n").encode()

    @staticmethod
    def scores(public_right: int, private_right: int) -> tuple[float, float]:
        return public_right / PUBLIC_ROWS, private_right / PRIVATE_ROWS


@dataclass
class World:
    api: TestClient
    hidden: Hidden
    tokens: dict[str, str | None]
    usernames: dict[str, str]
    slugs: dict[str, str]
    submissions: dict[str, int]
    team_names: dict[str, str]
    files: list[str]
    solution_sha256: str
    hidden_inputs_sha256: str
    private_scores: list[float]
    public_scores: list[float]
    spare: dict[str, Any] = field(default_factory=dict)

    def get(self, role: str, url: str, **kwargs: Any) -> Any:
        return self.api.get(url, headers=headers_for(self, role), **kwargs)


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json() if response.content else None


def new_challenge(
    api: TestClient,
    organizer: str,
    hidden: Hidden,
    slug: str,
    state: str | None = "open",
    **fields: object,
) -> str:
    """A challenge with public files, the hidden solution and hidden inputs."""
    body = {
        "slug": slug,
        "title": f"Challenge {slug}",
        "description": "Classify the digits.",
        "metric": "accuracy",
        "daily_submission_limit": 50,
        "checkpoint_spec": {"input_shape": INPUT_SHAPE},
        **fields,
    }
    _ok(api.post("/api/v1/challenges", json=body, headers=auth(organizer)), 201)
    base = f"/api/v1/challenges/{slug}"
    _ok(api.put(f"{base}/solution", content=hidden.solution_csv(), headers=auth(organizer)))
    _ok(api.put(f"{base}/hidden-inputs", content=hidden_inputs(), headers=auth(organizer)))
    for name, content in public_files().items():
        _ok(api.put(f"{base}/files/{name}", content=content, headers=auth(organizer)), 201)
    if state is not None:
        _ok(api.patch(base, json={"state": state}, headers=auth(organizer)))
    return slug


def hidden_inputs() -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(7)
    np.save(buffer, rng.random((ROWS, *INPUT_SHAPE), dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()


def public_files() -> dict[str, bytes]:
    sample = "id,label\n" + "".join(f"{i},0\n" for i in range(ROWS))
    return {
        "train.csv": b"id,pixel0,label\n0,0.5,3\n1,0.25,7\n",
        "sample_submission.csv": sample.encode(),
    }


def submit_csv(
    api: TestClient,
    token: str,
    slug: str,
    content: bytes,
    message: str = "",
    name: str = "p.csv",
    metadata: dict[str, Any] | None = None,
) -> Any:
    data = {"message": message}
    if metadata is not None:
        data["metadata"] = json.dumps(metadata)
    return api.post(
        f"/api/v1/challenges/{slug}/submissions",
        files={"file": (name, io.BytesIO(content), "text/csv")},
        data=data,
        headers=auth(token),
    )


def fact_sheet(index: int) -> dict[str, Any]:
    """Varied fact sheets, so that the atlas and the meter have something to show."""
    return {
        "model": ["mlp", "cnn"][index % 2],
        "activation": ["relu", "sigmoid"][index // 2 % 2],
        "hidden_sizes": [64] * (1 + index % 3),
        "learning_rate": [1e-3, 1e-2][index % 2],
        "dropout": 0.25 if index % 2 else 0.0,
        "val_metric": 0.5,
        "curve": [{"epoch": 1, "train_loss": 1.5, "val_loss": 1.25, "val_metric": 0.5}],
    }


def build_world(api: TestClient, make_user: Callable[..., str], full: bool = True) -> World:
    """Users, teams, an open challenge with scored submissions, and side challenges.

    ``full=False`` builds the main challenge only (for tests that need nothing else).
    """
    hidden = Hidden.make()
    organizer = make_user("olga", "organizer")
    alice = make_user("alice")
    alan = make_user("alan")
    bob = make_user("bob")
    # Two metrics: the second one's private values are hidden like the private score.
    main = new_challenge(
        api, organizer, hidden, "main", metrics=["accuracy", "f1_macro"], tracks=TRACKS
    )
    # A challenge per state-changing route family, so that the routes of the
    # matrix can run in any order without changing each other's outcome.
    slugs = {"main": main}
    if full:
        slugs["to_finalize"] = new_challenge(api, organizer, hidden, "to-finalize")
        slugs["side"] = new_challenge(
            api, organizer, hidden, "side", max_team_size=10, atlas_visibility="after_finalize"
        )
        slugs["draft"] = new_challenge(api, organizer, hidden, "draft", state=None)
        slugs["finalized"] = new_challenge(api, organizer, hidden, "finalized")

    for slug in [s for key, s in slugs.items() if key in ("main", "to_finalize", "side")]:
        for token in (alice, bob):
            _ok(api.post(f"/api/v1/challenges/{slug}/join", headers=auth(token)))
        code = _ok(api.post(f"/api/v1/challenges/{slug}/team/invite", headers=auth(alice)))["code"]
        _ok(
            api.post(
                f"/api/v1/challenges/{slug}/team/join", json={"code": code}, headers=auth(alan)
            )
        )
    api.patch(f"/api/v1/challenges/{main}/team", json={"name": "team-a"}, headers=auth(alice))
    api.patch(f"/api/v1/challenges/{main}/team", json={"name": "team-b"}, headers=auth(bob))

    submissions: dict[str, int] = {}
    public_scores, private_scores = [], []
    for index, (key, (public_right, private_right)) in enumerate(SUBMISSION_PLAN.items()):
        token = alice if key.startswith("a") else bob
        response = submit_csv(
            api,
            token,
            main,
            hidden.predictions(public_right, private_right),
            f"try {key}",
            metadata=fact_sheet(index),
        )
        body = _ok(response, 201)
        assert body["status"] == "scored", body
        submissions[key] = body["id"]
        public, private = Hidden.scores(public_right, private_right)
        public_scores.append(public)
        private_scores.append(private)
    baseline = _ok(
        api.post(
            f"/api/v1/challenges/{main}/baselines",
            files={"file": ("b.csv", io.BytesIO(hidden.predictions(*BASELINE_PLAN)), "text/csv")},
            data={"name": "CNN (course)", "description": "the course's reference"},
            headers=auth(organizer),
        ),
        201,
    )
    assert baseline["status"] == "scored", baseline
    _measure(main, {submissions[k]: size for k, size in MEASURED.items()}, BASELINE_SIZE)
    public, private = Hidden.scores(*BASELINE_PLAN)
    public_scores.append(public)
    private_scores.append(private)
    _ok(
        api.post(
            f"/api/v1/challenges/{main}/announcements",
            json={"title": "Welcome", "body": "Read the **rules**."},
            headers=auth(organizer),
        ),
        201,
    )
    if full:
        _finish_side_challenges(api, slugs, hidden, organizer, alice, bob, submissions)
    challenge = _ok(api.get(f"/api/v1/challenges/{main}", headers=auth(organizer)))
    assert challenge["has_solution"] and challenge["has_hidden_inputs"]
    organizer_view = _ok(
        api.get(f"/api/v1/submissions/{submissions['a1']}", headers=auth(organizer))
    )
    assert organizer_view["private_score"] == private_scores[0]
    # The second metric's values join the hidden (private) and the shown (public) ones.
    for key in SUBMISSION_PLAN:
        seen = _ok(api.get(f"/api/v1/submissions/{submissions[key]}", headers=auth(organizer)))
        private_scores.append(seen["private_scores"]["f1_macro"])
        public_scores.append(seen["public_scores"]["f1_macro"])
    return World(
        api=api,
        hidden=hidden,
        tokens={
            "anonymous": None,
            "worker": WORKER_TOKEN,
            "other": bob,
            "organizer": organizer,
            "owner": alan,
            "alice": alice,
        },
        usernames={"owner": "alan", "alice": "alice", "other": "bob", "organizer": "olga"},
        slugs=slugs,
        submissions=submissions,
        team_names={"owner": "team-a", "other": "team-b"},
        files=sorted(public_files()),
        solution_sha256=hashlib.sha256(hidden.solution_csv()).hexdigest(),
        hidden_inputs_sha256=hashlib.sha256(hidden_inputs()).hexdigest(),
        private_scores=private_scores,
        public_scores=public_scores,
        spare={
            "a1_sha256": hashlib.sha256(hidden.predictions(*SUBMISSION_PLAN["a1"])).hexdigest(),
            "tracks": [t["name"] for t in TRACKS],
        },
    )


def _measure(slug: str, sizes: dict[int, int], baseline_size: int) -> None:
    """Stand in for the sandbox: these rows become checkpoints of the measured sizes
    (scoring real checkpoints here would need torch and the sandbox for every test)."""
    with session_scope() as session:
        challenge = session.scalars(select(Challenge).where(Challenge.slug == slug)).one()
        for row in session.scalars(select(Submission).where(Submission.id.in_(sizes))):
            row.kind, row.parameter_count = "checkpoint", sizes[row.id]
        for row in session.scalars(
            select(Submission).where(
                Submission.challenge_id == challenge.id, Submission.team_id.is_(None)
            )
        ):
            row.kind, row.parameter_count = "checkpoint", baseline_size
        bump_board(session, challenge.id)


def _finish_side_challenges(
    api: TestClient,
    slugs: dict[str, str],
    hidden: Hidden,
    organizer: str,
    alice: str,
    bob: str,
    submissions: dict[str, int],
) -> None:
    # A finalized challenge (its private scores, 5/81 and 6/81, are public by now).
    finalized = slugs["finalized"]
    for token, right in ((alice, 5), (bob, 6)):
        _ok(submit_csv(api, token, finalized, hidden.predictions(2, right)), 201)
    _ok(
        api.patch(
            f"/api/v1/challenges/{finalized}", json={"state": "closed"}, headers=auth(organizer)
        )
    )
    _ok(api.post(f"/api/v1/challenges/{finalized}/finalize", headers=auth(organizer)))
    # A scored submission in the challenge that the matrix finalizes, closed.
    to_finalize = slugs["to_finalize"]
    body = _ok(submit_csv(api, alice, to_finalize, hidden.predictions(3, 3)), 201)
    submissions["finalize_a"] = body["id"]
    _ok(
        api.patch(
            f"/api/v1/challenges/{to_finalize}", json={"state": "closed"}, headers=auth(organizer)
        )
    )
