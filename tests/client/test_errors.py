"""One exception tree: status codes map to classes, details are readable."""

from __future__ import annotations

import httpx
import podium
import pytest

from .conftest import FakeAPI, reply


def test_tree() -> None:
    for cls in (
        podium.AuthenticationError,
        podium.PermissionDeniedError,
        podium.NotFoundError,
        podium.ConflictError,
        podium.ValidationError,
        podium.QuotaExceededError,
        podium.ServerError,
    ):
        assert issubclass(cls, podium.APIError)
    assert issubclass(podium.PayloadTooLargeError, podium.ValidationError)
    assert issubclass(podium.APIError, podium.PodiumError)
    for cls in (podium.ConnectionError, podium.TimeoutError, podium.ChecksumError):
        assert issubclass(cls, podium.PodiumError)
        assert not issubclass(cls, podium.APIError)
    assert podium.ConnectionError is not ConnectionError


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, podium.APIError),
        (401, podium.AuthenticationError),
        (403, podium.PermissionDeniedError),
        (404, podium.NotFoundError),
        (405, podium.APIError),
        (409, podium.ConflictError),
        (413, podium.PayloadTooLargeError),
        (422, podium.ValidationError),
        (429, podium.QuotaExceededError),
        (500, podium.ServerError),
        (503, podium.ServerError),
    ],
)
def test_status_maps_to_class(fake: FakeAPI, status: int, cls: type[podium.APIError]) -> None:
    fake.add("GET", "/challenges/x", reply(status, {"detail": "the reason"}))
    with fake.client(retries=0) as client, pytest.raises(cls) as info:
        client.challenge("x")
    assert type(info.value) is cls
    assert info.value.status == status
    assert info.value.detail == "the reason"
    assert str(info.value) == "the reason"
    assert info.value.method == "GET"
    assert info.value.url == "http://podium.test/api/v1/challenges/x"


def test_fastapi_validation_list_is_flattened(fake: FakeAPI, client: podium.Client) -> None:
    detail = [
        {"loc": ["body", "username"], "msg": "Field required", "type": "missing"},
        {"loc": ["body", "password"], "msg": "too short", "type": "x"},
    ]
    fake.add("POST", "/users", reply(422, {"detail": detail}))
    with pytest.raises(podium.ValidationError) as info:
        client.register("a", "b")
    assert info.value.detail == "username: Field required; password: too short"


def test_non_json_error_body(fake: FakeAPI, client: podium.Client) -> None:
    fake.add("GET", "/me", reply(418, content=b"I'm a teapot"))
    with pytest.raises(podium.APIError, match="I'm a teapot"):
        client.whoami()


def test_html_error_page_becomes_the_reason_phrase(fake: FakeAPI) -> None:
    fake.add("GET", "/me", reply(502, content=b"<html><body>nginx</body></html>"))
    with fake.client(retries=0) as client, pytest.raises(podium.ServerError) as info:
        client.whoami()
    assert info.value.detail == "502 Bad Gateway"


def test_401_without_token_says_how_to_log_in(fake: FakeAPI) -> None:
    fake.add("GET", "/me", reply(401, {"detail": "authentication required"}))
    with fake.client(token=None) as client, pytest.raises(podium.AuthenticationError) as info:
        client.whoami()
    assert "podium login" in info.value.detail
    assert "Authorization" not in fake.requests[0].headers


def test_non_json_success_is_a_clear_error(fake: FakeAPI, client: podium.Client) -> None:
    fake.add("GET", "/me", reply(200, content=b"<html>a proxy login page</html>"))
    with pytest.raises(podium.PodiumError, match="not JSON"):
        client.whoami()


def test_unsupported_url_scheme() -> None:
    with (
        podium.Client(url="ftp://nowhere", token="t", retries=0) as client,
        pytest.raises(podium.ConnectionError, match="invalid server URL"),
    ):
        client.whoami()


def test_quota_error_carries_retry_after(fake: FakeAPI, client: podium.Client) -> None:
    fake.add("GET", "/me", reply(429, {"detail": "limit"}, headers={"Retry-After": "3600"}))
    with pytest.raises(podium.QuotaExceededError) as info:
        client.whoami()
    assert info.value.retry_after == 3600
    assert "QuotaExceededError(status=429" in repr(info.value)


def test_transport_is_used_for_every_request(fake: FakeAPI) -> None:
    fake.add("GET", "/health", reply(200, {"status": "ok", "database": "ok"}))
    with fake.client() as client:
        assert client.health() == {"status": "ok", "database": "ok"}
    assert isinstance(fake.requests[0], httpx.Request)
