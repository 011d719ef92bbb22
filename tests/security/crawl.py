"""Crawl everything a caller can reach: every GET route of the app, every link on its pages."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from tests.security.test_authz_matrix import route_keys
from tests.security.world import World, headers_for

MAX_URLS = 800  # the whole crawl of the security world is about 620 URLs per role
LINK = re.compile(r"""(?:href|src|action|data-[a-z-]+)\s*=\s*["']([^"'#]+)["']""")
# Links that would end the crawler's session or change state are not followed.
SKIPPED = ("/logout",)
# Third-party files served as they are: nothing in them is generated.
VENDORED = "/static/vendor/"


def parameter_values(world: World) -> dict[str, list[str]]:
    return {
        "slug": [*world.slugs.values(), "no-such-challenge"],
        "submission_id": [str(i) for i in world.submissions.values()] + ["999999", "0"],
        "name": [*world.files, "solution.csv", "no-such-file", "..", "podium.db"],
        "team": [*world.team_names.values(), "no-such-team"],
        "path": ["img/podium.svg", "../../config.py", "js/podium.js"],
        "sha256": [world.solution_sha256, world.hidden_inputs_sha256, world.spare["a1_sha256"]],
    }


def _compare_variants(world: World) -> list[dict[str, str]]:
    """The side-by-side page: two of team A's submissions, then one of team B's with
    one of team A's (the pages' own links add the owner's pairs); few, for speed."""
    ids = [str(i) for i in world.submissions.values()]
    return [{}, {"a": ids[0], "b": ids[1]}, {"a": ids[-1], "b": ids[0]}]


def _query_variants(openapi: dict[str, Any], path: str, world: World) -> list[dict[str, str]]:
    """Every combination of the enumerated query parameters of a GET operation; a
    ``track`` parameter (a challenge's parameter-budget tracks) takes each track of the
    world too, and a name no challenge declares."""
    tracks = [*world.spare.get("tracks", []), "no-such-track"]
    operation = openapi.get("paths", {}).get(path, {}).get("get")
    if path.endswith("/submissions/compare"):
        return _compare_variants(world)
    if operation is None:
        if path == "/c/{slug}":  # the challenge page: the query parameters it takes
            boards = [{}, {"board": "private"}, {"board": "private", "projector": "1"}]
            return boards + [{**b, "track": t} for b in boards[:2] for t in tracks]
        if path.startswith("/c/"):
            return [{}, {"board": "private"}, {"board": "private", "projector": "1"}]
        return [{}]
    choices: list[list[tuple[str, str | None]]] = []
    for parameter in operation.get("parameters", []):
        if parameter.get("in") != "query":
            continue
        schema = parameter.get("schema", {})
        values = schema.get("enum") or [
            v for option in schema.get("anyOf", []) for v in option.get("enum", [])
        ]
        if schema.get("type") == "boolean":
            values = ["true", "false"]
        if parameter["name"] == "track":
            values = [None, *tracks]  # None: left out (the full board)
        if values:
            choices.append([(parameter["name"], None if v is None else str(v)) for v in values])
    combos = [{k: v for k, v in combo if v is not None} for combo in itertools.product(*choices)]
    return combos or [{}]


def route_urls(world: World) -> Iterator[tuple[str, dict[str, str]]]:
    app = world.api.app
    openapi = world.api.get("/openapi.json").json()
    values = parameter_values(world)
    for method, path in sorted(route_keys(app)):
        if method != "GET":
            continue
        names = re.findall(r"{([^}:]+)(?::[^}]*)?}", path)
        pools = [values.get(name, ["1", "x"]) for name in names]
        for combo in itertools.product(*pools):
            url = path
            for name, value in zip(names, combo, strict=True):
                url = re.sub(r"{" + name + r"(?::[^}]*)?}", value, url)
            for query in _query_variants(openapi, path, world):
                yield url, query


def crawl(world: World, role: str) -> list[tuple[str, Any]]:
    """(where, response) for every GET route and every followed link, as ``role``."""
    headers = headers_for(world, role)
    token = world.tokens.get(role)
    if token:
        headers["Cookie"] = f"podium_session={token}"
    seen: set[str] = set()
    queue: list[tuple[str, dict[str, str]]] = list(route_urls(world))
    responses: list[tuple[str, Any]] = []
    while queue and len(seen) < MAX_URLS:
        url, query = queue.pop(0)
        key = url + "?" + "&".join(f"{k}={v}" for k, v in sorted(query.items()))
        if key in seen:
            continue
        seen.add(key)
        response = world.api.get(url, params=query, headers=headers, follow_redirects=False)
        responses.append((f"GET {key} as {role} -> {response.status_code}", response))
        if "html" in response.headers.get("content-type", ""):
            for link in LINK.findall(response.text):
                parts = urlsplit(html.unescape(link))
                if parts.scheme or parts.netloc or not parts.path.startswith("/"):
                    continue
                if parts.path.startswith(SKIPPED) or parts.path.startswith(VENDORED):
                    continue
                params = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
                queue.append((parts.path, params))
    return responses
