"""The limits settings: daily_submission_limit as the alias of limits.per_day, timezones, PATCH."""

from __future__ import annotations

import io
import zipfile

import yaml
from fastapi.testclient import TestClient

from tests.conftest import auth

BASE = {"title": "Lab", "metric": "accuracy"}


def set_(limits: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in limits.items() if value is not None}


def create(api: TestClient, token: str, slug: str, **fields: object) -> object:
    return api.post(
        "/api/v1/challenges", json={"slug": slug, **BASE, **fields}, headers=auth(token)
    )


def test_daily_submission_limit_is_the_alias_of_per_day(
    api: TestClient, organizer_token: str
) -> None:
    default = create(api, organizer_token, "lab-default").json()
    assert set_(default["limits"]) == {"per_day": 5} and default["daily_submission_limit"] == 5
    assert default["timezone"] == "UTC" and default["late_submissions"] is False
    alias = create(api, organizer_token, "lab-alias", daily_submission_limit=7).json()
    assert set_(alias["limits"]) == {"per_day": 7}
    window = {"per_window": {"count": 3, "minutes": 60}, "min_interval_seconds": 30}
    only = create(api, organizer_token, "lab-window", limits=window).json()
    assert set_(only["limits"]) == window and only["daily_submission_limit"] is None
    both = create(api, organizer_token, "lab-both", daily_submission_limit=4, limits=window)
    assert set_(both.json()["limits"]) == {"per_day": 4, **window}
    clash = create(
        api, organizer_token, "lab-clash", daily_submission_limit=4, limits={"per_day": 3}
    )
    assert clash.status_code == 422 and "same limit" in clash.text


def test_bad_limits_and_timezones_say_what_to_fix(api: TestClient, organizer_token: str) -> None:
    for fields, fragment in (
        ({"timezone": "Mars/Olympus"}, "IANA name"),
        ({"timezone": "../../etc/passwd"}, "IANA name"),
        ({"limits": {"per_window": {"count": 0, "minutes": 60}}}, "count"),
        ({"limits": {"per_hour": 3}}, "per_hour"),
        ({"limits": {"total": -1}}, "total"),
    ):
        response = create(api, organizer_token, "lab-bad", **fields)
        assert response.status_code == 422 and fragment in response.text, (fields, response.text)


def test_patch_limits_replaces_them_all_and_the_alias_changes_per_day(
    api: TestClient, organizer_token: str
) -> None:
    org = auth(organizer_token)
    create(api, organizer_token, "lab", limits={"per_day": 3, "total": 10})
    patched = api.patch(
        "/api/v1/challenges/lab", json={"limits": {"min_interval_seconds": 60}}, headers=org
    ).json()
    assert set_(patched["limits"]) == {"min_interval_seconds": 60}
    patched = api.patch(
        "/api/v1/challenges/lab",
        json={"daily_submission_limit": 2, "timezone": "Europe/Paris", "late_submissions": True},
        headers=org,
    ).json()
    assert set_(patched["limits"]) == {"per_day": 2, "min_interval_seconds": 60}
    assert patched["timezone"] == "Europe/Paris" and patched["late_submissions"] is True
    nulled = api.patch("/api/v1/challenges/lab", json={"timezone": None}, headers=org)
    assert nulled.status_code == 422


def test_a_clone_and_a_bundle_carry_the_limits_timezone_and_late_setting(
    api: TestClient, organizer_token: str
) -> None:
    org = auth(organizer_token)
    limits = {"per_window": {"count": 3, "minutes": 60}, "total": 40}
    create(
        api,
        organizer_token,
        "lab-src",
        limits=limits,
        timezone="Asia/Tokyo",
        late_submissions=True,
        metric=None,
        metrics=["accuracy", "f1_macro"],
    )
    clone = api.post(
        "/api/v1/challenges/lab-src/clone", json={"slug": "lab-copy", "title": "Copy"}, headers=org
    )
    assert clone.status_code == 201, clone.text
    copy = api.get("/api/v1/challenges/lab-copy", headers=org).json()
    assert set_(copy["limits"]) == limits and copy["daily_submission_limit"] is None
    assert copy["timezone"] == "Asia/Tokyo" and copy["late_submissions"] is True
    assert copy["metrics"] == ["accuracy", "f1_macro"] and copy["metric"] == "accuracy"
    bundle = api.get("/api/v1/challenges/lab-src/bundle", headers=org)
    assert bundle.status_code == 200, bundle.text
    manifest = yaml.safe_load(zipfile.ZipFile(io.BytesIO(bundle.content)).read("challenge.yaml"))
    assert set_(manifest["limits"]) == limits and manifest["timezone"] == "Asia/Tokyo"
    assert manifest["metrics"] == ["accuracy", "f1_macro"]
    assert (
        manifest["late_submissions"] is True
        and "daily_submission_limit" not in manifest
        or manifest["daily_submission_limit"] is None
    )


def test_metrics_the_first_ranks_and_they_must_score_the_same_predictions(
    api: TestClient, organizer_token: str
) -> None:
    org = auth(organizer_token)
    body = create(api, organizer_token, "lab-m", metric=None, metrics=["accuracy", "f1_macro"])
    assert body.json()["metric"] == "accuracy" and body.json()["metrics"] == [
        "accuracy",
        "f1_macro",
    ]
    mixed = create(api, organizer_token, "lab-x", metric=None, metrics=["accuracy", "roc_auc"])
    assert mixed.status_code == 422 and "same predictions" in mixed.text
    other = create(api, organizer_token, "lab-y", metric="f1_macro", metrics=["accuracy"])
    assert other.status_code == 422 and "first of metrics" in other.text
    patched = api.patch("/api/v1/challenges/lab-m", json={"metric": "f1_macro"}, headers=org)
    assert patched.json()["metrics"] == ["f1_macro"]  # the old ranking metric goes
    patched = api.patch(
        "/api/v1/challenges/lab-m", json={"metrics": ["balanced_accuracy"]}, headers=org
    )
    assert patched.json()["metrics"] == ["balanced_accuracy"]
