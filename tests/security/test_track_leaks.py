"""Parameter-budget tracks in the leak hunt: their boards and pages are crawled, and
before finalize they show no private score (the private track board answers 403)."""

from __future__ import annotations

from tests.security.crawl import crawl
from tests.security.test_leaks import detector_for, warm_caches
from tests.security.world import World


def test_track_boards_are_crawled_and_show_no_private_value(small_world: World) -> None:
    world = small_world
    warm_caches(world)  # the organizer saw every private track board first
    slug = world.slugs["main"]
    for role in ("owner", "other", "anonymous"):
        detector = detector_for(world, role)
        crawled = crawl(world, role)
        seen = {where.split(" as ")[0]: where.rsplit("-> ", 1)[1] for where, _ in crawled}
        base = f"GET /api/v1/challenges/{slug}/leaderboard?"
        for track in world.spare["tracks"]:
            assert seen[f"{base}board=public&track={track}"] == "200"
            assert seen[f"{base}board=private&track={track}"] == "403"
            assert seen[f"GET /c/{slug}?track={track}"] == "200"
            assert seen[f"GET /c/{slug}?board=private&track={track}"] == "200"
        assert seen[f"{base}board=public&track=no-such-track"] == "404"
        findings = [str(f) for where, r in crawled for f in detector.scan_response(where, r)]
        assert not findings, "\n".join(findings[:40])
        # The tiny track's public board: a1 (50 parameters) alone; b1 is on "small".
        tiny = world.get(role, f"/api/v1/challenges/{slug}/leaderboard?track=tiny").json()
        assert [e["team"] for e in tiny["entries"]] == [world.team_names["owner"]]
        assert [e["parameter_count"] for e in tiny["entries"]] == [50]
