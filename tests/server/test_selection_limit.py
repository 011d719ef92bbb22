"""Lowering ``final_selection_count`` after teams chose (issue #18, defect 9).

A team that picked three submissions kept all three on the private board after
the organizer lowered the count to one. Now the picks over the new count are
dropped, keeping the best public ones (the rule of the auto-fill), and the
private board never counts more picks than the count.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import auth, create_challenge, open_challenge_now, submit
from tests.server.test_leaderboard import board, private_ids, public_ids


def test_lowering_the_count_leaves_no_team_more_picks_than_it(
    api: TestClient, organizer_token: str, make_user: Callable[..., str]
) -> None:
    fixture = create_challenge(api, organizer_token, final_selection_count=3)
    open_challenge_now(api, organizer_token, fixture.slug)
    slug, pub, priv = fixture.slug, public_ids(fixture), private_ids(fixture)
    team = make_user("picker")
    # best public (bad private), middle public (best private), worst public.
    first = submit(api, team, slug, fixture.predictions(wrong=set(priv[:20])))
    second = submit(api, team, slug, fixture.predictions(wrong=set(pub[:2])))
    third = submit(api, team, slug, fixture.predictions(wrong=set(pub[:4] + priv[:5])))
    picks = [first["id"], second["id"], third["id"]]
    chosen = api.put(
        f"/api/v1/challenges/{slug}/selection", json={"submission_ids": picks}, headers=auth(team)
    )
    assert chosen.status_code == 200, chosen.text
    lowered = api.patch(
        f"/api/v1/challenges/{slug}",
        json={"final_selection_count": 1},
        headers=auth(organizer_token),
    )
    assert lowered.status_code == 200, lowered.text
    mine = api.get(f"/api/v1/challenges/{slug}/submissions", headers=auth(team)).json()
    selected = [s["id"] for s in mine if s["selected_for_final"]]
    assert selected == [first["id"]]  # the best public pick stays
    api.patch(f"/api/v1/challenges/{slug}", json={"state": "closed"}, headers=auth(organizer_token))
    finalized = api.post(f"/api/v1/challenges/{slug}/finalize", headers=auth(organizer_token))
    assert finalized.status_code == 200, finalized.text
    entries = board(api, slug, team, "private").json()["entries"]  # type: ignore[attr-defined]
    n_priv = len(priv)
    assert entries[0]["score"] == (n_priv - 20) / n_priv  # the one pick, not the best of three
