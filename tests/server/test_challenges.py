"""Challenge lifecycle, public files, hidden solution."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import auth, create_challenge, open_challenge_now


def test_create_update_open_close_finalize(api: TestClient, organizer_token: str) -> None:
    org = auth(organizer_token)
    created = api.post(
        "/api/v1/challenges",
        json={
            "slug": "mnist",
            "title": "MNIST",
            "metric": "accuracy",
            "closes_at": "2099-01-01T00:00:00",
        },
        headers=org,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "draft"
    assert body["closes_at"].startswith("2099-01-01T00:00:00")  # naive read as UTC
    assert body["daily_submission_limit"] == 5 and body["final_selection_count"] == 2
    # Opening requires a solution.
    refused = api.patch("/api/v1/challenges/mnist", json={"state": "open"}, headers=org)
    assert refused.status_code == 409
    assert "solution" in refused.json()["detail"]
    api.put(
        "/api/v1/challenges/mnist/solution",
        content=b"id,label,usage\n1,3,public\n2,4,private\n",
        headers=org,
    )
    opened = api.patch(
        "/api/v1/challenges/mnist", json={"state": "open", "title": "MNIST!"}, headers=org
    )
    assert opened.status_code == 200 and opened.json()["state"] == "open"
    assert opened.json()["title"] == "MNIST!"
    early = api.post("/api/v1/challenges/mnist/finalize", headers=org)
    assert early.status_code == 409
    closed = api.patch("/api/v1/challenges/mnist", json={"state": "closed"}, headers=org)
    assert closed.json()["state"] == "closed"
    final = api.post("/api/v1/challenges/mnist/finalize", headers=org)
    assert final.status_code == 200 and final.json()["state"] == "finalized"
    frozen = api.patch("/api/v1/challenges/mnist", json={"title": "x"}, headers=org)
    assert frozen.status_code == 409


def test_duplicate_slug_unknown_metric_bad_window(api: TestClient, organizer_token: str) -> None:
    org = auth(organizer_token)
    body = {"slug": "dup", "title": "T", "metric": "accuracy"}
    assert api.post("/api/v1/challenges", json=body, headers=org).status_code == 201
    assert api.post("/api/v1/challenges", json=body, headers=org).status_code == 409
    unknown = api.post(
        "/api/v1/challenges", json={**body, "slug": "m2", "metric": "vibes"}, headers=org
    )
    assert unknown.status_code == 422 and "unknown metric" in unknown.json()["detail"]
    window = api.post(
        "/api/v1/challenges",
        json={
            **body,
            "slug": "ww",
            "opens_at": "2030-01-02T00:00:00Z",
            "closes_at": "2030-01-01T00:00:00Z",
        },
        headers=org,
    )
    assert window.status_code == 422 and "closes_at" in window.json()["detail"]
    bad_slug = api.post("/api/v1/challenges", json={**body, "slug": "Bad Slug"}, headers=org)
    assert bad_slug.status_code == 422


def test_drafts_are_invisible_to_participants(
    api: TestClient, organizer_token: str, participant_token: str
) -> None:
    create_challenge(api, organizer_token, slug="secret")
    assert api.get("/api/v1/challenges/secret", headers=auth(participant_token)).status_code == 404
    assert api.get("/api/v1/challenges", headers=auth(participant_token)).json() == []
    listed = api.get("/api/v1/challenges", headers=auth(organizer_token)).json()
    assert [c["slug"] for c in listed] == ["secret"]


def test_files_upload_list_download_and_range(
    api: TestClient, organizer_token: str, participant_token: str
) -> None:
    fixture = create_challenge(api, organizer_token)
    open_challenge_now(api, organizer_token, fixture.slug)
    content = bytes(range(256)) * 100
    put = api.put(
        f"/api/v1/challenges/{fixture.slug}/files/data.bin",
        content=content,
        headers=auth(organizer_token),
    )
    assert put.status_code == 201
    files = api.get(f"/api/v1/challenges/{fixture.slug}/files").json()
    assert {f["name"] for f in files} == {"data.bin", "train.csv"}
    import hashlib

    digest = hashlib.sha256(content).hexdigest()
    assert next(f for f in files if f["name"] == "data.bin")["sha256"] == digest
    # Sign-in is needed to download.
    assert api.get(f"/api/v1/challenges/{fixture.slug}/files/data.bin").status_code == 401
    got = api.get(
        f"/api/v1/challenges/{fixture.slug}/files/data.bin", headers=auth(participant_token)
    )
    assert got.status_code == 200 and got.content == content
    assert got.headers["x-content-sha256"] == digest
    partial = api.get(
        f"/api/v1/challenges/{fixture.slug}/files/data.bin",
        headers={**auth(participant_token), "Range": "bytes=1000-"},
    )
    assert partial.status_code == 206 and partial.content == content[1000:]
    missing = api.get(
        f"/api/v1/challenges/{fixture.slug}/files/nope.bin", headers=auth(participant_token)
    )
    assert missing.status_code == 404


def test_file_names_are_checked(api: TestClient, organizer_token: str) -> None:
    fixture = create_challenge(api, organizer_token)
    for name in ["..hidden", "a..b", ".env", "x%2F..%2Fy"]:
        response = api.put(
            f"/api/v1/challenges/{fixture.slug}/files/{name}",
            content=b"x",
            headers=auth(organizer_token),
        )
        assert response.status_code in (404, 422), (name, response.status_code)
    files = api.get(
        f"/api/v1/challenges/{fixture.slug}/files", headers=auth(organizer_token)
    ).json()
    assert [f["name"] for f in files] == ["train.csv"]


def test_participants_cannot_upload_or_touch_the_solution(
    api: TestClient, organizer_token: str, participant_token: str
) -> None:
    fixture = create_challenge(api, organizer_token)
    open_challenge_now(api, organizer_token, fixture.slug)
    p = auth(participant_token)
    assert (
        api.put(
            f"/api/v1/challenges/{fixture.slug}/files/x.csv", content=b"x", headers=p
        ).status_code
        == 403
    )
    assert (
        api.put(f"/api/v1/challenges/{fixture.slug}/solution", content=b"x", headers=p).status_code
        == 403
    )
    assert api.get(f"/api/v1/challenges/{fixture.slug}/solution", headers=p).status_code == 405


def test_solution_validation_errors(api: TestClient, organizer_token: str) -> None:
    org = auth(organizer_token)
    api.post(
        "/api/v1/challenges", json={"slug": "sol", "title": "S", "metric": "accuracy"}, headers=org
    )
    cases = {
        b"id,label\n1,2\n": "header",
        b"id,label,usage\n1,2,public\n1,3,private\n": "unique",
        b"id,label,usage\n1,2,public\n2,3,pubic\n": "usage",
        b"id,label,usage\n1,2,public\n2,3,public\n": "private",
        b"": "",
    }
    for content, word in cases.items():
        response = api.put("/api/v1/challenges/sol/solution", content=content, headers=org)
        assert response.status_code == 422, (content, response.text)
        assert word in response.json()["detail"].lower(), (content, response.json())
    challenge = api.get("/api/v1/challenges/sol", headers=org).json()
    assert challenge["has_solution"] is False


def test_upload_over_the_cap_is_413_and_leaves_nothing(
    data_dir: object, organizer_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.app import create_app
    from server.config import get_settings

    monkeypatch.setenv("PODIUM_MAX_UPLOAD_MB", "2")
    get_settings.cache_clear()
    with TestClient(create_app()) as api:
        fixture = create_challenge(api, organizer_token)
        blob_dir = get_settings().blob_dir
        before = sorted(p.name for p in blob_dir.rglob("*") if p.is_file())

        def body() -> Iterator[bytes]:
            for _ in range(3):
                yield b"x" * (1024 * 1024)

        streamed = api.put(
            f"/api/v1/challenges/{fixture.slug}/files/big.bin",
            content=body(),
            headers=auth(organizer_token),
        )
        assert streamed.status_code == 413
        assert "2 MB" in streamed.json()["detail"]
        declared = api.put(
            f"/api/v1/challenges/{fixture.slug}/files/big.bin",
            content=b"x" * (3 * 1024 * 1024),
            headers=auth(organizer_token),
        )
        assert declared.status_code == 413
        after = sorted(p.name for p in blob_dir.rglob("*") if p.is_file())
        assert after == before
        names = [
            f["name"]
            for f in api.get(
                f"/api/v1/challenges/{fixture.slug}/files", headers=auth(organizer_token)
            ).json()
        ]
        assert "big.bin" not in names
