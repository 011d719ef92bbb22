"""Bundles and clones through the API: a bundle round-trips, a broken one creates nothing,
and the JSON Schema files are what the create schema says."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from server.challenges.bundles import SCHEMA_PATH, bundle_json_schema
from tests.conftest import ChallengeFixture, auth, create_challenge, submit

CLIENT_SCHEMA = SCHEMA_PATH.parents[2] / "client" / "podium" / "bundle.schema.json"


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def get_bundle(api: TestClient, token: str, slug: str) -> dict[str, bytes]:
    response = api.get(f"/api/v1/challenges/{slug}/bundle", headers=auth(token))
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def post_bundle(api: TestClient, token: str, data: bytes, open_it: bool = False) -> Any:
    return api.post(
        f"/api/v1/challenge-bundles?open={str(open_it).lower()}", content=data, headers=auth(token)
    )


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_schema_files_match_the_create_schema() -> None:
    expected = bundle_json_schema()
    for path in (SCHEMA_PATH, CLIENT_SCHEMA):
        assert json.loads(path.read_text()) == expected, (
            f"{path.name} is stale: run `podium-server bundle-schema --write`"
        )


def test_every_create_setting_is_carried_by_bundles_and_clones() -> None:
    """bundles.settings_of reads each ChallengeCreate field off the model by name: a new
    setting stored under another name would silently fall back to its default."""
    from server.challenges.bundles import NOT_IN_BUNDLES
    from server.challenges.schemas import ChallengeCreate
    from server.models import Challenge

    missing = [
        name
        for name in ChallengeCreate.model_fields
        if name not in NOT_IN_BUNDLES and not hasattr(Challenge, name)
    ]
    assert not missing, f"teach server/challenges/bundles.py:settings_of to read {missing}"


def test_a_bundle_round_trips(
    api: TestClient, organizer_token: str, participant_token: str
) -> None:
    original = create_challenge(
        api,
        organizer_token,
        slug="round",
        description="# Digits\n\nSee *train.csv*.",
        closes_at="2031-01-01T12:00:00Z",
        daily_submission_limit=7,
        max_team_size=3,
    )
    refused = api.get("/api/v1/challenges/round/bundle", headers=auth(participant_token))
    assert refused.status_code in (403, 404)
    entries = get_bundle(api, organizer_token, "round")
    assert set(entries) == {"challenge.yaml", "description.md", "files/train.csv", "solution.csv"}
    assert entries["solution.csv"] == original.solution_csv()
    manifest = yaml.safe_load(entries["challenge.yaml"])
    assert manifest["slug"] == "round" and manifest["daily_submission_limit"] == 7
    assert "webhooks" not in manifest

    manifest["slug"] = "round-two"
    entries["challenge.yaml"] = yaml.safe_dump(manifest).encode()
    created = post_bundle(api, organizer_token, zip_of(entries), open_it=True)
    assert created.status_code == 201, created.text
    assert created.json()["state"] == "open"
    again = get_bundle(api, organizer_token, "round-two")
    assert yaml.safe_load(again["challenge.yaml"]) == manifest
    assert {k: digest(v) for k, v in again.items() if k != "challenge.yaml"} == {
        k: digest(v) for k, v in entries.items() if k != "challenge.yaml"
    }
    old = api.get("/api/v1/challenges/round", headers=auth(organizer_token)).json()
    new = api.get("/api/v1/challenges/round-two", headers=auth(organizer_token)).json()
    different = {"slug", "state", "created_at", "accepting_submissions"}
    assert {k: v for k, v in old.items() if k not in different} == {
        k: v for k, v in new.items() if k not in different
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.pop("solution.csv"), "needs solution.csv"),
        (lambda e: e.update({"solution.csv": b"id,label\n0,1\n"}), "solution rejected"),
        (lambda e: e.update({"challenge.yaml": b"slug: [unclosed"}), "not valid YAML"),
        (lambda e: e.update({"challenge.yaml": b"slug: x\nmetric: accuracy\n"}), "title"),
        (lambda e: e.update({"challenge.yaml": b"- a list"}), "mapping"),
        (lambda e: e.update({"extra.txt": b"?"}), "unexpected bundle entry"),
        (lambda e: e.update({"files/../escape": b"?"}), "'..'"),
        (lambda e: e.update({"files/bad name.csv": b"?"}), "file name"),
        (lambda e: e.update({"hidden_inputs.npy": b"not numpy"}), "hidden inputs"),
    ],
)
def test_a_broken_bundle_creates_nothing(
    api: TestClient, organizer_token: str, change: Any, message: str
) -> None:
    fixture = ChallengeFixture(
        "fresh", [i % 10 for i in range(20)], [i % 2 == 0 for i in range(20)]
    )
    entries = {
        "challenge.yaml": b"slug: fresh\ntitle: Fresh\nmetric: accuracy\nunknown_setting: 3\n",
        "files/train.csv": b"id,x\n0,1\n",
        "solution.csv": fixture.solution_csv(),
    }
    refused = post_bundle(api, organizer_token, zip_of(entries))
    assert refused.status_code == 422 and "unknown_setting" in refused.json()["detail"]
    entries["challenge.yaml"] = b"slug: fresh\ntitle: Fresh\nmetric: accuracy\n"
    change(entries)
    refused = post_bundle(api, organizer_token, zip_of(entries))
    assert refused.status_code == 422, refused.text
    assert message in refused.json()["detail"]
    assert api.get("/api/v1/challenges", headers=auth(organizer_token)).json() == []


def test_only_hosts_create_from_bundles_and_not_over_a_slug(
    api: TestClient, organizer_token: str, participant_token: str
) -> None:
    create_challenge(api, organizer_token, slug="taken")
    entries = get_bundle(api, organizer_token, "taken")
    assert post_bundle(api, participant_token, zip_of(entries)).status_code == 403
    assert post_bundle(api, "", zip_of(entries)).status_code == 401
    conflict = post_bundle(api, organizer_token, zip_of(entries))
    assert conflict.status_code == 409
    assert post_bundle(api, organizer_token, b"not a zip").status_code == 422
    schema = api.get("/api/v1/challenge-bundles/schema").json()
    assert schema == json.loads(SCHEMA_PATH.read_text())


def test_clone_copies_settings_files_and_solution(
    api: TestClient, organizer_token: str, participant_token: str
) -> None:
    source = create_challenge(api, organizer_token, slug="spring", daily_submission_limit=3)
    url = "/api/v1/challenges/spring/clone"
    body = {"slug": "autumn", "title": "Autumn round"}
    # A draft exists only for its managers: 404 for everyone else.
    assert api.post(url, json=body, headers=auth(participant_token)).status_code == 404
    cloned = api.post(url, json=body, headers=auth(organizer_token))
    assert cloned.status_code == 201, cloned.text
    read = cloned.json()
    assert (read["slug"], read["title"], read["state"]) == ("autumn", "Autumn round", "draft")
    assert read["daily_submission_limit"] == 3 and read["has_solution"]
    assert api.post(url, json=body, headers=auth(organizer_token)).status_code == 409
    assert (
        api.post(
            url, json={"slug": "Bad Slug", "title": "x"}, headers=auth(organizer_token)
        ).status_code
        == 422
    )
    opened = api.patch(
        "/api/v1/challenges/autumn", json={"state": "open"}, headers=auth(organizer_token)
    )
    assert opened.status_code == 200, opened.text
    scored = submit(api, participant_token, "autumn", source.predictions())
    assert scored["status_code"] == 201 and scored["public_score"] == 1.0
    files = api.get("/api/v1/challenges/autumn/files", headers=auth(participant_token)).json()
    assert [f["name"] for f in files] == ["train.csv"]
