"""The pure helpers behind the pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.web.context import safe_next
from server.web.history import best_over_time
from server.web.rendering import format_score, render_markdown, time_left, url_part

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_best_over_time_follows_the_metric_direction() -> None:
    points = [(NOW + timedelta(hours=h), score) for h, score in enumerate([0.5, 0.7, 0.6, 0.9])]
    assert [s for _, s in best_over_time(points, greater_is_better=True)] == [0.5, 0.7, 0.9]
    assert [s for _, s in best_over_time(points, greater_is_better=False)] == [0.5]
    shuffled = list(reversed(points))
    assert best_over_time(shuffled, True) == best_over_time(points, True)


def test_time_left_reads_like_a_person_wrote_it() -> None:
    assert time_left(None, NOW) == "no deadline"
    assert time_left(NOW - timedelta(seconds=1), NOW) == "deadline passed"
    assert time_left(NOW + timedelta(days=1, hours=2, minutes=5), NOW) == "1 day 2 hours left"
    assert time_left(NOW + timedelta(hours=3, minutes=1), NOW) == "3 hours 1 minute left"
    assert time_left(NOW + timedelta(seconds=20), NOW) == "1 minute left"


def test_format_score_never_invents_a_number() -> None:
    assert format_score(None) == "–"
    assert format_score(float("nan")) == "–"
    assert format_score(0.123456) == "0.12346"


def test_url_part_encodes_every_separator() -> None:
    assert url_part("a/b?c#d e") == "a%2Fb%3Fc%23d%20e"


def test_markdown_keeps_structure_and_drops_active_content() -> None:
    html = str(render_markdown("**b** <b>raw</b>\n\n[x](javascript:alert(1))\n\n`<i>`"))
    assert "<strong>b</strong>" in html
    assert "&lt;b&gt;raw&lt;/b&gt;" in html
    assert "href" not in html
    assert "<code>&lt;i&gt;</code>" in html


def test_safe_next_stays_on_this_site() -> None:
    assert safe_next("/c/mnist?board=public") == "/c/mnist?board=public"
    for hostile in (None, "", "https://evil.example", "//evil.example", "/\\evil", "/\n/evil"):
        assert safe_next(hostile) == "/"
