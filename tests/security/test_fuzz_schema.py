"""Schemathesis against the app's own OpenAPI schema: no 5xx, every response as documented.

Every operation is fuzzed as a participant (alan, team A) and as the organizer
(the worker API with the worker token), half the cases aimed at real resources
(the populated challenge, team A's submissions, the solution's sha256) so that
they get past the 404s and reach the services. Requests go through the suite's
TestClient (the app's lifespan runs once, as in production), and each response
is checked by schemathesis: not a server error, a documented status code and
content type, a body that matches the documented schema.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis import checks as st_checks

from tests.security.world import World

# Cases per operation and role; CI runs ~38 operations x 2 roles x this.
EXAMPLES = int(os.environ.get("PODIUM_FUZZ_EXAMPLES", "16"))
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
    st_checks.response_headers_conformance,
]
# Run last for each role: revoking tokens may revoke the caller's own.
LAST = ("DELETE /api/v1/tokens/{token_id}",)


def _send(world: World, case: Any, headers: dict[str, str]) -> Any:
    """Send a generated case through the suite's client (requests-style kwargs to httpx)."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    method, url = kwargs.pop("method"), kwargs.pop("url")
    request: dict[str, Any] = {
        "headers": {k: v for k, v in kwargs.pop("headers", {}).items() if k != "Connection"},
        "params": kwargs.pop("params", None),
        "follow_redirects": False,
    }
    if kwargs.get("json") is not None:
        request["json"] = kwargs["json"]
    data = kwargs.get("data")
    if isinstance(data, bytes | str):
        request["content"] = data
    elif data is not None:
        request["data"] = data
    if kwargs.get("files"):
        request["files"] = [(name, _file_part(part)) for name, part in kwargs["files"]]
    response = world.api.request(method, url, **request)
    response.request.read()  # the checks quote the request; multipart bodies are streamed
    return response


def _file_part(part: Any) -> Any:
    """requests accepts any value in a multipart part; httpx wants str or bytes."""
    if not isinstance(part, tuple):
        return part
    filename, content, *rest = part
    if not isinstance(content, bytes | str):
        content = "" if content is None else str(content)
    return (filename, content, *rest)


def _real_parameters(world: World) -> dict[str, Any]:
    return {
        "slug": st.sampled_from(list(world.slugs.values())),
        "submission_id": st.sampled_from(list(world.submissions.values())),
        "name": st.sampled_from([*world.files, "solution.csv"]),
        "sha256": st.sampled_from([world.solution_sha256, world.spare["a1_sha256"]]),
    }


def _strategy(operation: Any, world: World) -> Any:
    """Valid and invalid requests, half of them aimed at real resources."""
    free = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    names = [p.name for p in operation.path_parameters]
    real = _real_parameters(world)
    if not names or not all(n in real for n in names):
        return free

    @st.composite
    def aimed(draw: Any) -> Any:
        fixed = {name: draw(real[name]) for name in names}
        mode = draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
        return draw(operation.as_strategy(mode, path_parameters=fixed))

    return st.one_of(free, aimed())


@dataclass
class Tally:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def fuzz(world: World, operation: Any, headers: dict[str, str], label: str, tally: Tally) -> None:
    """Run EXAMPLES generated cases of one operation with one caller's credentials."""

    @given(case=_strategy(operation, world))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        tally.cases += 1
        response = _send(world, case, headers)
        tally.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseException as error:  # a FailureGroup: collected, reported below
            if isinstance(error, KeyboardInterrupt):
                raise
            tally.failures.append(f"{label} {operation.label}: {str(error)[:1500]}")

    run()


# Every operation of the schema, twice (two callers): the run grows with the API
# (about 90 operations now), past the suite's default 300 s on a loaded machine.
@pytest.mark.timeout(1200)
def test_fuzz_every_operation_as_participant_and_organizer(world: World) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.api.app)
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda op: (op.label in LAST, op.label),
    )
    assert len(operations) >= 30, [op.label for op in operations]
    tally = Tally()
    for role in ("owner", "organizer"):
        for operation in operations:
            is_worker_api = operation.path.startswith("/api/v1/worker/")
            token = world.tokens["worker" if is_worker_api else role]
            fuzz(world, operation, {"Authorization": f"Bearer {token}"}, role, tally)
    assert tally.statuses and max(tally.statuses) < 500, tally.statuses
    assert not tally.failures, (
        f"{len(tally.failures)} of {tally.cases} cases failed:\n" + "\n\n".join(tally.failures[:10])
    )
    print(f"schema fuzzing: {tally.cases} cases, statuses {dict(sorted(tally.statuses.items()))}")
    if EXAMPLES >= 16:
        assert tally.cases >= 1000, tally.cases
