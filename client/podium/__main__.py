"""``python -m podium``: the same as the ``podium`` command."""

from .cli import main

main()
