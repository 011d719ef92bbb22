"""``python -m baselines``: see :mod:`baselines.cli`."""

import os

# Set before torch loads OpenMP. By default its threads wait for each other by
# spinning, which on a machine shared with other work (a classroom server, a
# laptop compiling something) made training 20 to 100 times slower here;
# waiting passively costs next to nothing on an idle machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from baselines.cli import main  # noqa: E402

raise SystemExit(main())
