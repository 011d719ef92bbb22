"""The leak hunt: nothing a participant can reach shows private scores, ranks or labels.

With a challenge open and submissions scored (private accuracies 10/81, 20/81,
44/81, 3/81), the suite crawls every GET route of the app (each path parameter
filled with every resource of the world, each enumerated query value) and
every link of the pages, as the owner's teammate, another team and an
anonymous visitor, while the challenge is open and again once it is closed
(the dangerous moment: the deadline passed, nothing is revealed yet). Error
messages and the responses to the participants' own uploads are checked too.
A positive control finalizes the challenge and expects the same detectors to
find the private scores: a detector that never fires proves nothing.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from server.config import get_settings
from tests.conftest import auth
from tests.security.crawl import crawl
from tests.security.leaks import LeakDetector
from tests.security.world import Hidden, World, submit_csv


def detector_for(world: World, role: str) -> LeakDetector:
    private = [*world.private_scores, 3 / 81]
    secrets = {
        "the solution's sha256": world.solution_sha256,
        "the hidden inputs' sha256": world.hidden_inputs_sha256,
        "the worker token": world.tokens["worker"] or "",
        "the secret key": get_settings().secret_key,
        "a password hash": "$argon2",
    }
    for name, token in world.tokens.items():
        if token and token.startswith("pod_") and name != role:
            secrets[f"{name}'s API token"] = token
    if role != "owner" and "invite_a" in world.spare:
        secrets["team A's invite code"] = world.spare["invite_a"]
    hidden = world.hidden
    sequences = [
        hidden.labels,
        [hidden.labels[i] for i in hidden.private_ids],
        [hidden.labels[i] for i in hidden.public_ids],
    ]
    return LeakDetector(private, sequences, secrets, world.public_scores)


def own_actions(world: World) -> list[tuple[str, Any]]:
    """Responses to what a participant sends: uploads, rejections, limits, selections."""
    api, slug, token = world.api, world.slugs["main"], world.tokens["owner"]
    assert token is not None
    hidden = world.hidden
    out: list[tuple[str, Any]] = []
    rejected = [
        b"id,label\n0,1\n",
        hidden.predictions(19, 81).replace(b"\n5,", b"\n5x,"),
        hidden.predictions(19, 81) + b"100,1\n",
        hidden.predictions(19, 81).replace(b"id,label", b"id,target"),
        b"\x00\xff" * 100,
    ]
    for content in rejected:
        response = submit_csv(api, token, slug, content)
        assert response.status_code == 422, response.text
        out.append(("POST submissions (rejected)", response))
    response = submit_csv(api, token, slug, hidden.predictions(19, 81), "perfect")
    assert response.status_code == 201, response.text
    out.append(("POST submissions (perfect)", response))
    submission_id = response.json()["id"]
    response = api.put(
        f"/api/v1/challenges/{slug}/selection",
        json={"submission_ids": [submission_id]},
        headers=auth(token),
    )
    out.append(("PUT selection", response))
    for board in ("public", "private"):
        response = api.get(
            f"/api/v1/challenges/{slug}/leaderboard", params={"board": board}, headers=auth(token)
        )
        out.append((f"GET leaderboard {board}", response))
    page = api.post(
        f"/c/{slug}/submissions",
        files={"file": ("p.csv", io.BytesIO(b"id,label\n1,2\n"), "text/csv")},
        headers={"Cookie": f"podium_session={token}"},
        follow_redirects=False,
    )
    out.append(("POST page submission without csrf", page))
    return out


def hunt(world: World, roles: tuple[str, ...]) -> tuple[list[str], int]:
    findings: list[str] = []
    responses = 0
    for role in roles:
        detector = detector_for(world, role)
        for where, response in crawl(world, role):
            responses += 1
            assert response.status_code < 500, (where, response.text[:300])
            # The finalized challenge shows its private fields to everyone, as it should.
            revealed = f"/{world.slugs['finalized']}" in where.split("?")[0]
            findings += [
                str(f) for f in detector.scan_response(where, response, structural=not revealed)
            ]
    return findings, responses


def _close(world: World) -> None:
    response = world.api.patch(
        f"/api/v1/challenges/{world.slugs['main']}",
        json={"state": "closed"},
        headers=auth(world.tokens["organizer"] or ""),
    )
    assert response.status_code == 200, response.text


LATE_PLAN = (7, 33)  # a late submission's (public rows right, private rows right)


def _close_with_a_late_submission(world: World) -> list[tuple[str, Any]]:
    """Allow late submissions, close, and have alice submit late (scored, never ranked)."""
    api, slug = world.api, world.slugs["main"]
    response = api.patch(
        f"/api/v1/challenges/{slug}",
        json={"late_submissions": True},
        headers=auth(world.tokens["organizer"] or ""),
    )
    assert response.status_code == 200, response.text
    _close(world)
    response = submit_csv(
        api, world.tokens["alice"] or "", slug, world.hidden.predictions(*LATE_PLAN), "late"
    )
    assert response.status_code == 201 and response.json()["late"], response.text
    world.submissions["late_a"] = response.json()["id"]
    public, private = Hidden.scores(*LATE_PLAN)
    world.private_scores.append(private)
    world.public_scores.append(public)
    seen = world.get("organizer", f"/api/v1/submissions/{world.submissions['late_a']}").json()
    world.private_scores.append(seen["private_scores"]["f1_macro"])
    world.public_scores.append(seen["public_scores"]["f1_macro"])
    return [("POST submissions (late)", response)]


def _invite_code(world: World) -> str:
    response = world.api.post(
        f"/api/v1/challenges/{world.slugs['main']}/team/invite",
        headers=auth(world.tokens["alice"] or ""),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["code"])


def warm_caches(world: World) -> None:
    """The organizer looks at everything first: a cache must not hand it on to others."""
    tracks = [{}] + [{"track": t} for t in world.spare.get("tracks", [])]
    for slug in world.slugs.values():
        for board in ("public", "private"):
            for track in tracks:  # the parameter-budget tracks' boards too
                world.get(
                    "organizer",
                    f"/api/v1/challenges/{slug}/leaderboard",
                    params={"board": board, **track},
                )
                world.api.get(
                    f"/c/{slug}",
                    params={"board": board, **track},
                    headers={"Cookie": f"podium_session={world.tokens['organizer']}"},
                )


# Two crawls of ~2,000 URLs each (every route, track board and page, three roles): on a
# loaded machine that is more than the suite's 300 s default.
@pytest.mark.timeout(900)
def test_participants_never_see_private_scores_ranks_or_labels(world: World) -> None:
    world.spare["invite_a"] = _invite_code(world)
    warm_caches(world)
    detector = detector_for(world, "owner")
    findings = [str(f) for where, r in own_actions(world) for f in detector.scan_response(where, r)]
    open_findings, open_count = hunt(world, ("owner", "other", "anonymous"))
    late = _close_with_a_late_submission(world)
    findings += [
        str(f) for where, r in late for f in detector_for(world, "owner").scan_response(where, r)
    ]
    warm_caches(world)
    closed_findings, closed_count = hunt(world, ("owner", "other", "anonymous"))
    findings += open_findings + closed_findings
    assert not findings, f"{len(findings)} leaks:\n" + "\n".join(sorted(set(findings))[:60])
    print(f"leak hunt: {open_count + closed_count} responses crawled, 0 leaks")


def test_the_detectors_fire_on_what_organizers_and_finalized_boards_show(world: World) -> None:
    """Positive control: the same detectors find the private scores where they are allowed."""
    organizer_view = detector_for(world, "organizer").scan_response(
        "organizer submission",
        world.get("organizer", f"/api/v1/submissions/{world.submissions['a1']}"),
    )
    assert any("private score" in f.what for f in organizer_view)
    world.spare["invite_a"] = _invite_code(world)
    _close_with_a_late_submission(world)
    response = world.api.post(
        f"/api/v1/challenges/{world.slugs['main']}/finalize",
        headers=auth(world.tokens["organizer"] or ""),
    )
    assert response.status_code == 200, response.text
    findings, _ = hunt(world, ("owner",))
    text = "\n".join(findings)
    for value in world.private_scores:
        assert repr(value) in text, f"private score {value!r} not found after finalize"
    assert "non-null $.entries[0].public_rank" in text, "private board ranks not found"
    # The side-by-side page is in the crawl: after finalize it shows private scores.
    assert any("/submissions/compare?" in f and "private score" in f for f in findings), (
        "the side-by-side page's private scores not found after finalize"
    )


def test_the_detectors_recognise_every_form_of_the_hidden_data() -> None:
    """Unit check of the detectors on the forms a leak would take."""
    import hashlib
    import json

    hidden = Hidden.make()
    sha = hashlib.sha256(hidden.solution_csv()).hexdigest()
    private_labels = [hidden.labels[i] for i in hidden.private_ids]
    detector = LeakDetector(
        [10 / 81, 20 / 81, 44 / 81],
        [hidden.labels, private_labels],
        {"the solution's sha256": sha},
        [17 / 19],
    )
    leaks = {
        "solution file": hidden.solution_csv().decode(),
        "labels as JSON": json.dumps({"y": hidden.labels}),
        "private labels as CSV column": "\n".join(map(str, private_labels[20:40])),
        "labels as a string": "".join(map(str, hidden.labels[30:50])),
        "4 decimals": "score 0.1235 today",
        "6 decimals": "<td>0.246914</td>",
        "percent": "private: 54.3%",
        "repr": json.dumps({"s": 44 / 81}),
        "sha": f"etag {sha.upper()}",
    }
    for name, text in leaks.items():
        assert list(detector.scan_text(name, text)), f"the detectors miss the {name}"
    clean = {
        "public score": json.dumps({"public_score": 17 / 19}),
        "timestamp": "2026-05-01T10:12:34.123456+00:00 and 10.1235",
        "ids": ",".join(str(i) for i in range(100)),
    }
    for name, text in clean.items():
        assert not list(detector.scan_text(name, text)), f"false alarm on the {name}"
