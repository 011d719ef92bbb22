"""Leaderboards: best per team, ties to the earliest, private only after finalize,
final selection and auto-fill, rescore after a solution fix, teams and merges."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from tests.conftest import ChallengeFixture, auth, create_challenge, open_challenge_now, submit


def board(api: TestClient, slug: str, token: str | None = None, kind: str = "public") -> object:
    headers = auth(token) if token else {}
    return api.get(f"/api/v1/challenges/{slug}/leaderboard?board={kind}", headers=headers)


def public_ids(fixture: ChallengeFixture) -> list[int]:
    return [i for i, p in enumerate(fixture.public) if p]


def private_ids(fixture: ChallengeFixture) -> list[int]:
    return [i for i, p in enumerate(fixture.public) if not p]


def test_best_score_per_team_and_ties_to_earliest(
    api: TestClient, open_challenge: ChallengeFixture, make_user: Callable[..., str]
) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    slug = open_challenge.slug
    pub = public_ids(open_challenge)
    submit(api, alice, slug, open_challenge.predictions(wrong=set(pub[:4])))
    submit(api, alice, slug, open_challenge.predictions(wrong=set(pub[:2])))  # alice best
    submit(api, bob, slug, open_challenge.predictions(wrong=set(pub[2:4])))  # same score, later
    entries = board(api, slug).json()["entries"]
    assert [(e["rank"], e["team"]) for e in entries] == [(1, "alice"), (2, "bob")]
    assert entries[0]["score"] == entries[1]["score"]
    assert entries[0]["submissions"] == 2 and entries[1]["submissions"] == 1
    assert all("private" not in key for e in entries for key in e if e[key] is not None)


def test_private_board_hidden_until_finalize_on_every_route(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str, organizer_token: str
) -> None:
    slug = open_challenge.slug
    result = submit(
        api,
        participant_token,
        slug,
        open_challenge.predictions(wrong=set(private_ids(open_challenge)[:7])),
    )
    assert board(api, slug, participant_token, "private").status_code == 403
    assert board(api, slug, None, "private").status_code == 403
    assert (
        api.get(
            f"/api/v1/challenges/{slug}/export?board=private", headers=auth(participant_token)
        ).status_code
        == 403
    )
    private_score = api.get(
        f"/api/v1/submissions/{result['id']}", headers=auth(organizer_token)
    ).json()["private_score"]
    assert private_score is not None and private_score < 1
    text = repr(private_score)[:6]
    for url in [
        f"/api/v1/submissions/{result['id']}",
        f"/api/v1/challenges/{slug}/submissions",
        f"/api/v1/challenges/{slug}/leaderboard",
        f"/api/v1/challenges/{slug}",
    ]:
        body = api.get(url, headers=auth(participant_token)).text
        assert text not in body, url
    assert board(api, slug, organizer_token, "private").status_code == 200


def test_final_selection_and_auto_fill(
    api: TestClient, organizer_token: str, make_user: Callable[..., str]
) -> None:
    fixture = create_challenge(api, organizer_token, final_selection_count=1)
    open_challenge_now(api, organizer_token, fixture.slug)
    slug, pub, priv = fixture.slug, public_ids(fixture), private_ids(fixture)
    chooser, auto = make_user("chooser"), make_user("auto")
    # chooser: best public submission overfits (bad private); selects the other one.
    overfit = submit(api, chooser, slug, fixture.predictions(wrong=set(priv[:20])))
    steady = submit(api, chooser, slug, fixture.predictions(wrong=set(pub[:1] + priv[:2])))
    # auto: selects nothing; its best public one counts.
    submit(api, auto, slug, fixture.predictions(wrong=set(pub[:3] + priv[:10])))
    submit(api, auto, slug, fixture.predictions(wrong=set(pub[:5])))
    too_many = api.put(
        f"/api/v1/challenges/{slug}/selection",
        json={"submission_ids": [overfit["id"], steady["id"]]},
        headers=auth(chooser),
    )
    assert too_many.status_code == 422
    chosen = api.put(
        f"/api/v1/challenges/{slug}/selection",
        json={"submission_ids": [steady["id"]]},
        headers=auth(chooser),
    )
    assert chosen.status_code == 200 and chosen.json()["selected"] == [steady["id"]]
    others = api.put(
        f"/api/v1/challenges/{slug}/selection",
        json={"submission_ids": [steady["id"]]},
        headers=auth(auto),
    )
    assert others.status_code == 404
    api.patch(f"/api/v1/challenges/{slug}", json={"state": "closed"}, headers=auth(organizer_token))
    assert (
        api.post(f"/api/v1/challenges/{slug}/finalize", headers=auth(organizer_token)).status_code
        == 200
    )
    public_entries = board(api, slug, chooser).json()["entries"]
    assert [e["team"] for e in public_entries] == ["chooser", "auto"]
    private = board(api, slug, chooser, "private")
    assert private.status_code == 200
    entries = {e["team"]: e for e in private.json()["entries"]}
    n_priv = len(priv)
    assert entries["chooser"]["score"] == (n_priv - 2) / n_priv
    assert entries["auto"]["score"] == (n_priv - 10) / n_priv
    assert entries["chooser"]["public_rank"] == 1 and entries["chooser"]["move"] == 0
    # After finalize participants see private scores on their submissions.
    mine = api.get(f"/api/v1/submissions/{steady['id']}", headers=auth(chooser)).json()
    assert mine["private_score"] == (n_priv - 2) / n_priv
    locked = api.put(
        f"/api/v1/challenges/{slug}/selection", json={"submission_ids": []}, headers=auth(chooser)
    )
    assert locked.status_code == 409


def test_shake_up_move_is_reported(
    api: TestClient, organizer_token: str, make_user: Callable[..., str]
) -> None:
    fixture = create_challenge(api, organizer_token)
    open_challenge_now(api, organizer_token, fixture.slug)
    slug, pub, priv = fixture.slug, public_ids(fixture), private_ids(fixture)
    leader, chaser = make_user("leader"), make_user("chaser")
    submit(api, leader, slug, fixture.predictions(wrong=set(priv[:30])))
    submit(api, chaser, slug, fixture.predictions(wrong=set(pub[:1])))
    api.patch(f"/api/v1/challenges/{slug}", json={"state": "closed"}, headers=auth(organizer_token))
    api.post(f"/api/v1/challenges/{slug}/finalize", headers=auth(organizer_token))
    entries = board(api, slug, leader, "private").json()["entries"]
    assert [(e["team"], e["public_rank"], e["move"]) for e in entries] == [
        ("chaser", 2, 1),
        ("leader", 1, -1),
    ]


def test_rescore_after_solution_fix(
    api: TestClient, open_challenge: ChallengeFixture, organizer_token: str, participant_token: str
) -> None:
    slug = open_challenge.slug
    result = submit(api, participant_token, slug, open_challenge.predictions())
    assert result["public_score"] == 1.0
    # The organizer fixes label 0 (it was "wrong" all along).
    open_challenge.labels[0] = (open_challenge.labels[0] + 5) % 10
    fixed = api.put(
        f"/api/v1/challenges/{slug}/solution",
        content=open_challenge.solution_csv(),
        headers=auth(organizer_token),
    )
    assert fixed.status_code == 200
    rescored = api.post(f"/api/v1/challenges/{slug}/rescore", headers=auth(organizer_token))
    assert rescored.status_code == 200 and rescored.json() == {"rescored": 1}
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        current = api.get(
            f"/api/v1/submissions/{result['id']}", headers=auth(participant_token)
        ).json()
        if current["status"] == "scored":
            break
        time.sleep(0.05)
    pub_count = sum(open_challenge.public)
    assert current["status"] == "scored"
    assert current["public_score"] == (pub_count - 1) / pub_count
    assert board(api, slug).json()["entries"][0]["score"] == current["public_score"]


def test_missing_scores_never_rank(
    api: TestClient, open_challenge: ChallengeFixture, participant_token: str, stranger_token: str
) -> None:
    from server.db import session_scope
    from server.models import Submission

    submit(api, participant_token, open_challenge.slug, open_challenge.predictions())
    failed = submit(api, stranger_token, open_challenge.slug, open_challenge.predictions())
    with session_scope() as session:
        row = session.get(Submission, failed["id"])
        assert row is not None
        row.status, row.public_score, row.private_score = "failed", None, None
        row.error = "model crashed"
    from server.challenges.service import bump_board

    with session_scope() as session:
        bump_board(session, row.challenge_id)
    entries = board(api, open_challenge.slug).json()["entries"]
    assert [e["team"] for e in entries] == ["paul"]


def test_team_invite_join_cap_and_quota_merge(
    api: TestClient, organizer_token: str, make_user: Callable[..., str]
) -> None:
    fixture = create_challenge(api, organizer_token, max_team_size=2, daily_submission_limit=3)
    open_challenge_now(api, organizer_token, fixture.slug)
    slug = fixture.slug
    a, b, c = make_user("anna"), make_user("ben"), make_user("cleo")
    for token in (a, b, c):
        assert api.post(f"/api/v1/challenges/{slug}/join", headers=auth(token)).status_code == 200
    code = api.post(f"/api/v1/challenges/{slug}/team/invite", headers=auth(a)).json()["code"]
    # ben has used 2 and anna 2: merging would make 4 > 3 today.
    for token in (a, a, b, b):
        assert submit(api, token, slug, fixture.predictions())["status_code"] == 201
    merge = api.post(f"/api/v1/challenges/{slug}/team/join", json={"code": code}, headers=auth(b))
    assert merge.status_code == 409 and "daily limit" in merge.json()["detail"]
    # cleo has none: she may join; ben's team stays apart.
    joined = api.post(f"/api/v1/challenges/{slug}/team/join", json={"code": code}, headers=auth(c))
    assert joined.status_code == 200, joined.text
    assert joined.json()["members"] == ["anna", "cleo"]
    assert joined.json()["remaining_today"] == 1
    full = api.post(f"/api/v1/challenges/{slug}/team/join", json={"code": code}, headers=auth(b))
    assert full.status_code == 409
    bad = api.post(
        f"/api/v1/challenges/{slug}/team/join", json={"code": "nope-nope"}, headers=auth(b)
    )
    assert bad.status_code == 404
    renamed = api.patch(
        f"/api/v1/challenges/{slug}/team", json={"name": "<b>Ninjas</b>"}, headers=auth(c)
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "<b>Ninjas</b>"
    clash = api.patch(f"/api/v1/challenges/{slug}/team", json={"name": "ben"}, headers=auth(a))
    assert clash.status_code == 409


def test_team_size_cap_under_parallel_joins(
    api: TestClient, organizer_token: str, make_user: Callable[..., str]
) -> None:
    fixture = create_challenge(api, organizer_token, max_team_size=3)
    open_challenge_now(api, organizer_token, fixture.slug)
    slug = fixture.slug
    owner = make_user("owner")
    api.post(f"/api/v1/challenges/{slug}/join", headers=auth(owner))
    code = api.post(f"/api/v1/challenges/{slug}/team/invite", headers=auth(owner)).json()["code"]
    joiners = [make_user(f"joiner{i}") for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(
            pool.map(
                lambda t: (
                    api.post(
                        f"/api/v1/challenges/{slug}/team/join", json={"code": code}, headers=auth(t)
                    ).status_code
                ),
                joiners,
            )
        )
    assert codes.count(200) == 2, codes
    assert set(codes) <= {200, 409}
    team = api.get(f"/api/v1/challenges/{slug}/team", headers=auth(owner)).json()
    assert len(team["members"]) == 3


def test_parallel_final_selections_keep_the_cap(
    api: TestClient, organizer_token: str, participant_token: str
) -> None:
    fixture = create_challenge(
        api, organizer_token, final_selection_count=2, daily_submission_limit=10
    )
    open_challenge_now(api, organizer_token, fixture.slug)
    ids = [
        submit(api, participant_token, fixture.slug, fixture.predictions())["id"] for _ in range(6)
    ]
    choices = [[ids[i], ids[(i + 1) % 6]] for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(
            pool.map(
                lambda c: (
                    api.put(
                        f"/api/v1/challenges/{fixture.slug}/selection",
                        json={"submission_ids": c},
                        headers=auth(participant_token),
                    ).status_code
                ),
                choices,
            )
        )
    assert set(codes) <= {200, 503}
    listed = api.get(
        f"/api/v1/challenges/{fixture.slug}/submissions", headers=auth(participant_token)
    ).json()
    selected = [s["id"] for s in listed if s["selected_for_final"]]
    assert len(selected) == 2
    assert sorted(selected) in [sorted(c) for c in choices]


def test_export_csv_and_json_and_archive(
    api: TestClient, open_challenge: ChallengeFixture, organizer_token: str, participant_token: str
) -> None:
    import io
    import zipfile

    slug = open_challenge.slug
    submit(api, participant_token, slug, open_challenge.predictions(), "<script>x</script>")
    csv_export = api.get(
        f"/api/v1/challenges/{slug}/export?board=public&format=csv", headers=auth(organizer_token)
    )
    assert csv_export.status_code == 200
    assert csv_export.text.splitlines()[0] == (
        "rank,team,score,submissions,last_submission_at,members,student_ids"
    )
    assert csv_export.text.splitlines()[1].startswith("1,paul,1.0,1,")
    json_export = api.get(
        f"/api/v1/challenges/{slug}/export?board=private&format=json", headers=auth(organizer_token)
    )
    assert json_export.json()["entries"][0]["score"] == 1.0
    archive = api.get(
        f"/api/v1/challenges/{slug}/submissions-archive", headers=auth(organizer_token)
    )
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
        names = zf.namelist()
        assert "manifest.csv" in names
        assert all(not n.startswith("/") and ".." not in n for n in names)
        data_files = [n for n in names if n.startswith("submissions/")]
        assert len(data_files) == 1
        assert zf.read(data_files[0]) == open_challenge.predictions()
    assert (
        api.get(
            f"/api/v1/challenges/{slug}/submissions-archive", headers=auth(participant_token)
        ).status_code
        == 403
    )
