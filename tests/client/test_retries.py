"""Bounded retries: what is retried, how long the client waits, and what is never retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import podium
import pytest
from podium import _retry

from .conftest import USER, FakeAPI, FakeClock, fail_with, reply, submission


def test_5xx_then_success(fake: FakeAPI, client: podium.Client, clock: FakeClock) -> None:
    fake.add("GET", "/me", reply(500, {"detail": "boom"}), reply(502, {}), reply(200, USER))
    assert client.whoami().username == "ada"
    assert len(fake.calls("GET", "/me")) == 3
    assert len(clock.sleeps) == 2
    assert clock.sleeps[0] < clock.sleeps[1] * 1.01 + 1  # grows (with jitter)


def test_connection_error_then_success(
    fake: FakeAPI, client: podium.Client, clock: FakeClock
) -> None:
    fake.add("GET", "/me", fail_with(httpx.ConnectError("refused")), reply(200, USER))
    assert client.whoami().username == "ada"
    assert len(clock.sleeps) == 1


def test_read_timeout_is_retried_for_get(fake: FakeAPI, client: podium.Client) -> None:
    fake.add("GET", "/me", fail_with(httpx.ReadTimeout("slow")), reply(200, USER))
    assert client.whoami().username == "ada"


def test_429_honours_retry_after(fake: FakeAPI, client: podium.Client, clock: FakeClock) -> None:
    fake.add(
        "GET",
        "/me",
        reply(429, {"detail": "slow down"}, headers={"Retry-After": "7"}),
        reply(200, USER),
    )
    assert client.whoami().username == "ada"
    [slept] = clock.sleeps
    assert 7.0 <= slept <= 8.0  # Retry-After, plus at most a second of jitter


def test_retry_after_as_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    seconds = _retry.parse_retry_after(format_datetime(when, usegmt=True))
    assert seconds is not None and 25 <= seconds <= 31
    assert _retry.parse_retry_after("garbage") is None
    assert _retry.parse_retry_after(None) is None
    assert _retry.parse_retry_after("-3") == 0.0


def test_quota_429_with_long_retry_after_raises_at_once(
    fake: FakeAPI, client: podium.Client, clock: FakeClock
) -> None:
    fake.add(
        "GET",
        "/me",
        reply(429, {"detail": "daily limit reached"}, headers={"Retry-After": "36000"}),
    )
    with pytest.raises(podium.QuotaExceededError) as info:
        client.whoami()
    assert info.value.retry_after == 36000.0
    assert info.value.detail == "daily limit reached"
    assert len(fake.requests) == 1
    assert clock.sleeps == []


def test_429_without_retry_after_raises_at_once(
    fake: FakeAPI, client: podium.Client, clock: FakeClock
) -> None:
    """No Retry-After: no wait will do (a total submission limit), so no retry."""
    fake.add("GET", "/me", reply(429, {"detail": "total limit reached"}))
    with pytest.raises(podium.QuotaExceededError) as info:
        client.whoami()
    assert info.value.retry_after is None and info.value.detail == "total limit reached"
    assert len(fake.requests) == 1 and clock.sleeps == []


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, podium.APIError),
        (401, podium.AuthenticationError),
        (403, podium.PermissionDeniedError),
        (404, podium.NotFoundError),
        (409, podium.ConflictError),
        (413, podium.PayloadTooLargeError),
        (422, podium.ValidationError),
    ],
)
def test_no_retry_on_client_errors(
    fake: FakeAPI, client: podium.Client, clock: FakeClock, status: int, error: type[Exception]
) -> None:
    fake.add("GET", "/me", reply(status, {"detail": "nope"}))
    with pytest.raises(error):
        client.whoami()
    assert len(fake.requests) == 1
    assert clock.sleeps == []


def test_retries_are_bounded(fake: FakeAPI, clock: FakeClock) -> None:
    fake.add("GET", "/me", reply(503, {"detail": "maintenance"}))
    with fake.client(retries=2) as client, pytest.raises(podium.ServerError) as info:
        client.whoami()
    assert info.value.status == 503
    assert len(fake.requests) == 3  # the first try and two retries
    assert len(clock.sleeps) == 2


def test_retries_zero_means_one_attempt(fake: FakeAPI) -> None:
    fake.add("GET", "/me", reply(500, {"detail": "boom"}))
    with fake.client(retries=0) as client, pytest.raises(podium.ServerError):
        client.whoami()
    assert len(fake.requests) == 1


def test_connection_errors_exhausted(fake: FakeAPI, client: podium.Client) -> None:
    fake.add("GET", "/me", fail_with(httpx.ConnectError("[Errno 111] Connection refused")))
    with pytest.raises(podium.ConnectionError, match="cannot reach the Podium server"):
        client.whoami()
    assert len(fake.requests) == 4


def test_timeouts_exhausted(fake: FakeAPI, client: podium.Client) -> None:
    fake.add("GET", "/me", fail_with(httpx.ReadTimeout("timed out")))
    with pytest.raises(podium.TimeoutError, match="timed out"):
        client.whoami()


def test_backoff_grows_with_jitter() -> None:
    for attempt in range(6):
        cap = min(_retry.BACKOFF_CAP, _retry.BACKOFF_BASE * 2**attempt)
        delays = {_retry.backoff(attempt) for _ in range(20)}
        assert all(cap / 2 <= d <= cap for d in delays)
        assert len(delays) > 1  # jittered


# -- non-idempotent POST (a submission) ---------------------------------------


@pytest.fixture
def preds(tmp_path: Path) -> Path:
    path = tmp_path / "preds.csv"
    path.write_text("id,label\n0,1\n")
    return path


SUBMIT = "/challenges/mnist/submissions"


def test_submit_retried_when_connection_was_never_made(
    fake: FakeAPI, client: podium.Client, preds: Path
) -> None:
    fake.add("POST", SUBMIT, fail_with(httpx.ConnectError("refused")), reply(201, submission()))
    assert client.submit("mnist", preds).id == 12
    assert len(fake.requests) == 2
    assert all(b"id,label\n0,1\n" in body for body in fake.bodies)  # sent whole again


@pytest.mark.parametrize(
    "exc",
    [httpx.ReadError("reset"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("eof")],
)
def test_submit_not_retried_once_the_request_may_have_arrived(
    fake: FakeAPI, client: podium.Client, preds: Path, exc: Exception
) -> None:
    fake.add("POST", SUBMIT, fail_with(exc), reply(201, submission()))
    with pytest.raises((podium.ConnectionError, podium.TimeoutError)):
        client.submit("mnist", preds)
    assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 504])
def test_submit_not_retried_on_ambiguous_5xx(
    fake: FakeAPI, client: podium.Client, preds: Path, status: int
) -> None:
    fake.add("POST", SUBMIT, reply(status, {"detail": "oops"}), reply(201, submission()))
    with pytest.raises(podium.ServerError):
        client.submit("mnist", preds)
    assert len(fake.requests) == 1


def test_submit_retried_on_503_and_short_429(
    fake: FakeAPI, client: podium.Client, preds: Path, clock: FakeClock
) -> None:
    fake.add(
        "POST",
        SUBMIT,
        reply(503, {"detail": "the database is busy"}, headers={"Retry-After": "1"}),
        reply(429, {"detail": "slow down"}, headers={"Retry-After": "2"}),
        reply(201, submission()),
    )
    assert client.submit("mnist", preds).id == 12
    assert [round(s) for s in clock.sleeps] == [1, 2]
    assert 1.0 <= clock.sleeps[0] <= 1.25 and 2.0 <= clock.sleeps[1] <= 2.5


def test_submit_daily_limit_raises_at_once(
    fake: FakeAPI, client: podium.Client, preds: Path, clock: FakeClock
) -> None:
    fake.add(
        "POST",
        SUBMIT,
        reply(429, {"detail": "daily limit of 5 reached"}, headers={"Retry-After": "5000"}),
    )
    with pytest.raises(podium.QuotaExceededError, match="daily limit"):
        client.submit("mnist", preds)
    assert len(fake.requests) == 1
    assert clock.sleeps == []


def test_login_lockout_raises_at_once(fake: FakeAPI, client: podium.Client) -> None:
    fake.add(
        "POST",
        "/tokens",
        reply(429, {"detail": "too many failed logins"}, headers={"Retry-After": "900"}),
    )
    with pytest.raises(podium.QuotaExceededError):
        client.login("ada", "pw")
    assert len(fake.requests) == 1


def test_put_upload_is_retried_with_the_whole_body(
    fake: FakeAPI, client: podium.Client, tmp_path: Path
) -> None:
    data = tmp_path / "train.csv"
    data.write_bytes(b"x" * 300_000)
    fake.add(
        "PUT",
        "/challenges/mnist/files/train.csv",
        reply(502, {"detail": "bad gateway"}),
        reply(201, {"name": "train.csv", "size": 300_000, "sha256": "ab"}),
    )
    assert client.upload_file("mnist", data).size == 300_000
    assert [len(b) for b in fake.bodies] == [300_000, 300_000]
