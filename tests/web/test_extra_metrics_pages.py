"""The challenge's other metrics on the team pages: public values beside the main score,
private values only once the challenge is finalized (even for its host)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.conftest import auth, create_challenge, open_challenge_now, submit
from tests.web.conftest import sign_in

PAGES = ["/c/digits/teams/paul", "/c/digits/submissions"]


def values(api: TestClient, token: str, submission_id: int) -> tuple[str, str]:
    """The submission's public and private f1_macro as the pages format them."""
    response = api.get(f"/api/v1/submissions/{submission_id}", headers=auth(token))
    assert response.status_code == 200, response.text
    data = response.json()
    return f"{data['public_scores']['f1_macro']:.5f}", f"{data['private_scores']['f1_macro']:.5f}"


def test_team_pages_show_the_other_metrics_private_only_after_finalize(
    api: TestClient,
    organizer_token: str,
    participant_token: str,
    browser_client: Callable[[], TestClient],
) -> None:
    digits = create_challenge(api, organizer_token, metrics=["accuracy", "f1_macro"])
    open_challenge_now(api, organizer_token, "digits")
    # Wrong on a few public rows (ids 0, 3, 6) and on many private ones.
    wrong = {0, 3, 6} | {i for i in range(100) if i % 3 != 0 and i < 60}
    created = submit(api, participant_token, "digits", digits.predictions(wrong=wrong))
    assert created["status_code"] == 201, created
    public_f1, private_f1 = values(api, organizer_token, int(str(created["id"])))
    accuracy = f"{float(str(created['public_score'])):.5f}"
    assert len({public_f1, private_f1, accuracy}) == 3

    paul, olga = browser_client(), browser_client()
    sign_in(paul, "paul")
    sign_in(olga, "olga")
    for client, paths in ((api, PAGES[:1]), (paul, PAGES), (olga, PAGES)):
        for path in paths:
            text = client.get(path).text
            assert "Public f1_macro" in text and public_f1 in text, (path, text)
            assert private_f1 not in text and "Private f1_macro" not in text, (path, text)

    api.patch("/api/v1/challenges/digits", json={"state": "closed"}, headers=auth(organizer_token))
    finalized = api.post("/api/v1/challenges/digits/finalize", headers=auth(organizer_token))
    assert finalized.status_code == 200, finalized.text
    for client, paths in ((api, PAGES[:1]), (paul, PAGES)):
        for path in paths:
            text = client.get(path).text
            assert "Private f1_macro" in text and private_f1 in text, (path, text)
