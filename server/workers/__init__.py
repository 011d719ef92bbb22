"""Remote scoring workers: the worker API (server side) and the worker agent."""
