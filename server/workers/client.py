"""The worker's side of the worker API: an httpx client and a sha256-verified file cache.

Workers hold no database credentials; everything goes through the server's
``/api/v1/worker`` routes with ``PODIUM_WORKER_TOKEN``.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from types import TracebackType

import httpx

from server import __version__
from server.config import Settings
from server.queue.celery_app import Unclaimed
from server.scoring.outcome import Outcome
from server.storage import BlobStore
from server.workers.schemas import CheckpointMetrics, JobRead, ResultCreate

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DOWNLOAD_TIMEOUT = httpx.Timeout(300.0, connect=5.0)
RESULT_POST_TRIES = 6
RESULT_RETRY_CAP_SECONDS = 10.0
DOWNLOAD_CHUNK_BYTES = 1024 * 1024


class ServerUnreachable(Unclaimed):
    """The server did not answer (network error or 5xx): try again later."""


class WorkerRejected(Unclaimed):
    """The server refused the worker itself (bad token, disabled API): fix the config."""


class CacheIntegrityError(Exception):
    """A downloaded file did not hash to the sha256 it was asked for."""


def cache_dir(settings: Settings) -> Path:
    return settings.worker_cache_dir or settings.data_dir / "worker-cache"


class WorkerClient:
    """One worker's connection to the server (use as a context manager)."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.cache = BlobStore(cache_dir(settings))
        self._http = httpx.Client(
            base_url=settings.server_url.rstrip("/") + "/api/v1/worker",
            headers={
                "Authorization": f"Bearer {settings.worker_token}",
                "User-Agent": f"podium-worker/{__version__}",
            },
            timeout=TIMEOUT,
            transport=transport,
        )

    def __enter__(self) -> WorkerClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, body: dict[str, object]) -> httpx.Response:
        try:
            response = self._http.post(path, json=body)
        except httpx.TransportError as error:
            raise ServerUnreachable(f"{type(error).__name__}: {error}") from error
        if response.status_code >= 500 and response.status_code != 503:
            raise ServerUnreachable(f"HTTP {response.status_code} from {path}")
        if response.status_code in (401, 403, 503):
            raise WorkerRejected(f"HTTP {response.status_code}: {_detail(response)}")
        return response

    def claim(self, submission_id: int, worker: str) -> JobRead | None:
        """Start an attempt; None when the submission is not queued (nothing to do)."""
        response = self._post(f"/submissions/{submission_id}/claim", {"worker": worker})
        if response.status_code in (404, 409):
            log.info("submission %d: %s", submission_id, _detail(response))
            return None
        response.raise_for_status()
        return JobRead.model_validate(response.json())

    def heartbeat(self, job: JobRead) -> bool:
        """Extend the lease; False once the attempt is no longer current."""
        response = self._post(
            f"/submissions/{job.submission_id}/heartbeat", {"attempt": job.attempt}
        )
        if response.status_code in (404, 409):
            return False
        response.raise_for_status()
        return True

    def post_result(self, job: JobRead, outcome: Outcome) -> bool | None:
        """Post the result (retried: posting is idempotent).

        True: recorded now; False: refused (stale attempt) or already recorded;
        None: the server stayed unreachable (the lease will expire and the job
        run again).
        """
        scores = outcome.scores
        body = ResultCreate(
            attempt=job.attempt,
            public_score=scores.public if scores else None,
            private_score=scores.private if scores else None,
            error=None if scores else outcome.error,
            error_detail=None if scores else outcome.error_detail,
            platform_error=outcome.platform_error and scores is None,
            metrics=CheckpointMetrics.model_validate(outcome.metrics),
            extra_scores={name: list(pair) for name, pair in scores.extra.items()}
            if scores
            else {},
            # NaN (an undefined resample) travels as null: JSON has no NaN.
            public_bootstrap=[
                None if v is None or not math.isfinite(v) else v for v in outcome.public_bootstrap
            ]
            if scores and outcome.public_bootstrap
            else None,
        ).model_dump(mode="json")
        delay = 0.5
        for attempt in range(1, RESULT_POST_TRIES + 1):
            try:
                response = self._post(f"/submissions/{job.submission_id}/result", body)
            except ServerUnreachable as error:
                if attempt == RESULT_POST_TRIES:
                    log.error("result for submission %d not posted: %s", job.submission_id, error)
                    return None
                time.sleep(delay)
                delay = min(delay * 2, RESULT_RETRY_CAP_SECONDS)
                continue
            except WorkerRejected as error:
                log.error("result for submission %d refused: %s", job.submission_id, error)
                return None
            if response.status_code in (404, 409):
                log.warning(
                    "result for submission %d refused: %s", job.submission_id, _detail(response)
                )
                return False
            if response.status_code != 200:
                # Our own bug (e.g. 422): the lease runs out and the job is tried again.
                log.error(
                    "result for submission %d not accepted (HTTP %d): %s",
                    job.submission_id,
                    response.status_code,
                    _detail(response),
                )
                return None
            return bool(response.json()["recorded"])
        return None

    def fetch(self, sha256: str) -> Path:
        """A local copy of the server's file ``sha256``, downloaded once and verified."""
        path = self.cache.path_for(sha256)
        if path.is_file():
            return path
        try:
            with self._http.stream("GET", f"/blobs/{sha256}", timeout=DOWNLOAD_TIMEOUT) as response:
                if response.status_code in (401, 403, 503):
                    response.read()
                    raise WorkerRejected(f"HTTP {response.status_code}: {_detail(response)}")
                response.raise_for_status()
                stored = self.cache.put_chunks(response.iter_bytes(DOWNLOAD_CHUNK_BYTES))
        except httpx.TransportError as error:
            raise ServerUnreachable(f"{type(error).__name__}: {error}") from error
        if stored.sha256 != sha256:
            # Stored under the hash it really has, so the cache stays consistent.
            raise CacheIntegrityError(f"downloaded {sha256[:12]}… but it hashes to {stored.sha256}")
        return stored.path


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:200]
