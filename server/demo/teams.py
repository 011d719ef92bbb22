"""Demo teams that fill the board by running the baselines (see docs/baselines.md)."""

from __future__ import annotations


def start_demo_teams(url: str) -> None:
    """Start the demo teams' baseline runs in the background (needs the baselines extra)."""
