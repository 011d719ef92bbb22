"""Baseline rows: the hosts' reference entries, scored like submissions, never ranked."""
