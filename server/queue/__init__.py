"""The scoring queue: the job state machine and its two transports, side by side.

- ``state``: claim a queued submission, record an attempt's Outcome (once);
- ``lease``: a running attempt keeps its submission alive with a heartbeat;
- ``recovery``, ``sweeper``: expired leases go back to the queue (or fail after
  the last attempt); start-up re-dispatches what was queued;
- ``dispatch``: the seam every caller uses after its commit;
- ``embedded``: the in-process transport (the default, no broker);
- ``celery_app``: the Celery transport (``PODIUM_BROKER_URL``), send side and
  the task that hands each job to the worker agent.

Clients: the worker agent (``server.workers.runner``, over HTTP) and the worker
HTTP API (``server.workers.service``, which calls ``state`` for remote workers).
"""
