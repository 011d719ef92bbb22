# ruff: noqa: E501  (the profile lines are as long as py-spy writes them)
"""The burst's profile table: py-spy's collapsed stacks, by category."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from profile_categories import categorize, profile_table, shares  # noqa: E402

SERVE = 'process 1:"podium-server serve";run (uvicorn/main.py:1)'
REQUEST = (
    f"{SERVE};Server.run (uvicorn/server.py:2);RequestResponseCycle.run_asgi "
    "(uvicorn/protocols/http/h11_impl.py:3);Router.__call__ (starlette/routing.py:4);"
    "run_endpoint_function (fastapi/routing.py:5);submit (server/submissions/router.py:6)"
)
INSIGHT = "Thread._bootstrap (threading.py:1);_run (server/insight/service.py:2)"
# A tiny profile, one line per distinct stack, root first, then the sample count.
PROFILE = f"""\
{REQUEST};create_submission (server/submissions/service.py:7);validate_csv (server/submissions/service.py:8);parse_predictions (server/scoring/predictions.py:9) 4
{REQUEST};create_submission (server/submissions/service.py:7);Session.flush (sqlalchemy/orm/session.py:10);do_execute (sqlalchemy/engine/default.py:11) 10
{REQUEST};score_submission (server/queue/embedded.py:12);csv_outcome (server/scoring/outcome.py:13);accuracy (server/scoring/metrics.py:14) 3
{REQUEST};to_read (server/submissions/service.py:15) 2
{SERVE};Runner.run (asyncio/runners.py:16);select (selectors.py:17) 5
{INSIGHT};store_bootstrap (server/insight/service.py:18);public_bootstrap (server/scoring/bootstrap.py:19);mean (numpy/_core/_methods.py:20) 6
{INSIGHT};store_bootstrap (server/insight/service.py:18);Session.execute (sqlalchemy/orm/session.py:21) 2
{SERVE};<module> (server/app.py:1);_find_and_load (<frozen importlib._bootstrap>:1176);<module> (sqlalchemy/__init__.py:1) 8
{REQUEST};receive (server/http.py:22);parse (multipart/multipart.py:23) 1
Thread._bootstrap (threading.py:1);Heartbeat._loop (server/queue/lease.py:24) 1

not a profile line
"""


def test_each_sample_goes_to_its_innermost_matching_frame() -> None:
    totals = categorize(PROFILE.splitlines())
    assert totals == {
        "validation": 4,
        "database": 12,  # the request's flush and the bootstrap thread's statement
        "scoring": 3,
        "HTTP/event loop": 7,  # request code that matches nothing, and the loop
        "bootstrap": 6,
        "start-up (imports)": 8,  # an import of sqlalchemy is not database time
        "upload": 1,
        "other": 1,
    }


def test_shares_leave_the_imports_out_of_the_busy_total(tmp_path: Path) -> None:
    by_name = {s.category: s for s in shares(categorize(PROFILE.splitlines()))}
    assert by_name["database"].percent == pytest.approx(100 * 12 / 34)
    assert by_name["start-up (imports)"].percent == pytest.approx(100 * 8 / 42)
    assert sum(s.percent for n, s in by_name.items() if n != "start-up (imports)") == (
        pytest.approx(100)
    )
    path = tmp_path / "profile.txt"
    path.write_text(PROFILE)
    rendered = profile_table(path)
    assert "database" in rendered and "35.3%" in rendered and "total" in rendered


def test_an_empty_profile_gives_zero_shares() -> None:
    assert all(s.percent == 0 for s in shares(categorize([])))
