"""`podium.Client`: the typed, retrying HTTP client of the Podium API.

Over 400 lines on purpose (the one exception to the rule of
tests/architecture/test_module_size.py): one class with one short method per
API route, read as a list; splitting it would scatter the API across files
without making any part simpler.
"""

from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, cast
from urllib.parse import quote

import httpx

from . import _retry
from ._accounts import AccountsMixin
from ._config import ENV_TOKEN, resolve_settings
from ._exceptions import (
    APIError,
    ChecksumError,
    ConnectionError,
    PodiumError,
    TimeoutError,
    error_for_status,
)
from ._models import (
    Challenge,
    ChallengeFile,
    DownloadResult,
    Leaderboard,
    SolutionInfo,
    Submission,
    SubmissionId,
    Team,
    User,
)
from ._rules import RulesMixin
from ._transfer import (
    ProgressReader,
    progress_enabled,
    sha256_file,
    transfer_progress,
)
from ._version import __version__

__all__ = ["Client"]

API_PREFIX = "/api/v1"
SUBMISSION_KINDS = ("csv", "checkpoint")

RequestFactory = Callable[[ExitStack], httpx.Request]


def _seg(value: object) -> str:
    """Quote one URL path segment (a slug, a file name, an id)."""
    return quote(str(value), safe="")


def _jsonable(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Prepare challenge fields: datetimes become ISO 8601 (naive ones are taken as UTC)."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            value = value.isoformat()
        elif isinstance(value, (tuple, set, frozenset)):
            value = list(value)
        out[key] = value
    return out


def _error_detail(response: httpx.Response) -> str:
    """Flatten the server's ``{"detail": ...}`` (or anything else) into a message."""
    try:
        body = response.json()
    except ValueError:
        body = None
    detail: Any = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, list):
        # FastAPI request validation: [{"loc": [...], "msg": "..."}, ...]
        parts = []
        for item in detail:
            if isinstance(item, Mapping):
                loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query", "path")]
                msg = str(item.get("msg", item))
                parts.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
            else:
                parts.append(str(item))
        detail = "; ".join(parts)
    if isinstance(detail, str) and detail.strip():
        return detail.strip()
    if detail is not None and not isinstance(detail, str):
        return str(detail)
    text = response.text.strip() if body is None else ""
    if text and len(text) <= 300 and not text.lstrip().startswith("<"):
        return text
    return f"{response.status_code} {response.reason_phrase}".strip()


def _safe_filename(name: str) -> str:
    """Refuse server-sent file names that would escape the download folder."""
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or re.match(r"^[A-Za-z]:", name)
    ):
        raise PodiumError(f"refusing to write a file with an unsafe name: {name!r}")
    return name


class Client(RulesMixin, AccountsMixin):
    """A client of one Podium server.

    The URL and token come from the arguments, else ``PODIUM_URL`` and
    ``PODIUM_TOKEN``, else the config file written by ``podium login``
    (see `podium.config_path`), else ``http://127.0.0.1:8000`` and no token.

    `timeout` (seconds) bounds connecting and each read or write; a download
    or upload may take longer in total as long as bytes keep flowing.
    `retries` is the number of retries after the first attempt (see
    `podium._retry` for what is retried). `transport` replaces httpx's
    network transport (tests pass ``httpx.MockTransport``).

    Use it as a context manager, or call `close`::

        with podium.Client() as client:
            sub = client.submit("mnist", "preds.csv", message="cnn, 5 epochs")
            sub = client.wait(sub.id)
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        settings = resolve_settings(url, token)
        base = settings.url
        if base.endswith(API_PREFIX):
            base = base[: -len(API_PREFIX)]
        self.url: str = base
        self.token: str | None = settings.token
        self.timeout = timeout
        self.retries = max(0, retries)
        self._http = httpx.Client(
            base_url=self.url + API_PREFIX,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            headers={
                "User-Agent": f"podium-client/{__version__} "
                f"python/{platform.python_version()} httpx/{httpx.__version__}",
                "Accept": "application/json",
            },
        )

    # -- lifecycle ---------------------------------------------------------

    def close(self) -> None:
        """Close the underlying connections."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(url={self.url!r}, token={'***' if self.token else None})"

    # -- transport ---------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _build(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> RequestFactory:
        def factory(_stack: ExitStack) -> httpx.Request:
            return self._http.build_request(
                method,
                path,
                params=params,
                json=json,
                headers={**self._auth_headers(), **(headers or {})},
            )

        return factory

    def _send(
        self, factory: RequestFactory, *, idempotent: bool, stream: bool = False
    ) -> httpx.Response:
        """Send a request built afresh by `factory` for each attempt; retry per policy.

        Returns a successful response (still open when `stream`), or raises a
        `PodiumError`.
        """
        attempt = 0
        while True:
            with ExitStack() as stack:
                request = factory(stack)
                try:
                    response = self._http.send(request, stream=stream)
                except httpx.TransportError as exc:
                    if attempt < self.retries and _retry.retryable_transport_error(
                        exc, idempotent=idempotent
                    ):
                        _retry.sleep(_retry.backoff(attempt))
                        attempt += 1
                        continue
                    raise self._transport_error(exc) from exc
            if response.is_success:
                return response

            if stream:
                response.read()
                response.close()
            retry_after = _retry.parse_retry_after(response.headers.get("Retry-After"))
            too_long = retry_after is not None and retry_after > _retry.MAX_RETRY_AFTER
            # A 429 without Retry-After says no wait will do (a total submission limit).
            too_long = too_long or (response.status_code == 429 and retry_after is None)
            if (
                attempt < self.retries
                and not too_long
                and _retry.retryable_status(response.status_code, idempotent=idempotent)
            ):
                delay = (
                    _retry.after(retry_after)
                    if retry_after is not None
                    else _retry.backoff(attempt)
                )
                _retry.sleep(delay)
                attempt += 1
                continue
            raise self._api_error(request, response, retry_after)

    def _transport_error(self, exc: httpx.TransportError) -> PodiumError:
        if isinstance(exc, httpx.TimeoutException):
            kind = {
                httpx.ConnectTimeout: "connecting",
                httpx.ReadTimeout: "waiting for an answer",
                httpx.WriteTimeout: "sending",
                httpx.PoolTimeout: "waiting for a free connection",
            }.get(type(exc), "talking")
            return TimeoutError(f"timed out {kind} to {self.url} (after {self.timeout:g} s)")
        if isinstance(exc, httpx.UnsupportedProtocol):
            return ConnectionError(f"invalid server URL {self.url!r}: {exc}")
        reason = str(exc) or type(exc).__name__
        return ConnectionError(f"cannot reach the Podium server at {self.url} ({reason})")

    def _api_error(
        self, request: httpx.Request, response: httpx.Response, retry_after: float | None
    ) -> APIError:
        detail = _error_detail(response)
        status = response.status_code
        if status == 401 and not self.token:
            detail = f"{detail} (no token: run `podium login` or set {ENV_TOKEN})"
        return error_for_status(
            status,
            detail,
            retry_after=retry_after,
            method=request.method,
            url=str(request.url),
        )

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise PodiumError(
                f"unexpected answer from {response.request.url}: not JSON "
                f"(HTTP {response.status_code}); is {self.url} a Podium server?"
            ) from exc

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """One JSON request; returns the decoded body (None for 204)."""
        if idempotent is None:
            idempotent = method != "POST"
        factory = self._build(method, path, params=params, json=json)
        response = self._send(factory, idempotent=idempotent)
        if response.status_code == 204 or not response.content:
            return None
        return self._json(response)

    def _put_file(self, path: str, file: str | os.PathLike[str], *, progress: bool | None) -> Any:
        """PUT a file as the raw request body, streamed from disk."""
        source = Path(file)
        size = source.stat().st_size  # FileNotFoundError before any request
        enabled = progress_enabled(progress, size)

        def factory(stack: ExitStack) -> httpx.Request:
            fh = stack.enter_context(source.open("rb"))
            advance = stack.enter_context(
                transfer_progress(f"upload {source.name}", size, enabled=enabled)
            )
            return self._http.build_request(
                "PUT",
                path,
                content=cast(Iterable[bytes], ProgressReader(fh, advance)),
                headers={
                    **self._auth_headers(),
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(size),
                },
            )

        return self._json(self._send(factory, idempotent=True))

    # -- accounts ----------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Server health: ``{"status": "ok", "database": "ok"}``."""
        return cast(dict[str, Any], self._call("GET", "/health"))

    def register(self, username: str, password: str) -> User:
        """Create a participant account (when the server allows sign-up)."""
        data = self._call("POST", "/users", json={"username": username, "password": password})
        return User.from_dict(data)

    def login(self, username: str, password: str, *, token_name: str | None = None) -> str:
        """Exchange a username and password for a new API token.

        The token is returned (the server shows it only once) and used by this
        client from now on. It is not saved: `podium.save_config` does that.
        """
        name = token_name or f"podium-cli@{platform.node() or 'unknown'}"
        data = self._call(
            "POST", "/tokens", json={"username": username, "password": password, "name": name}
        )
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise PodiumError("the server did not return a token")
        self.token = token
        return token

    def whoami(self) -> User:
        """The account that owns the token."""
        return User.from_dict(self._call("GET", "/me"))

    # -- challenges and files ---------------------------------------------

    def challenges(self) -> list[Challenge]:
        """Every challenge visible to the caller."""
        return [Challenge.from_dict(c) for c in self._call("GET", "/challenges")]

    def challenge(self, slug: str) -> Challenge:
        """One challenge by slug."""
        return Challenge.from_dict(self._call("GET", f"/challenges/{_seg(slug)}"))

    def files(self, slug: str) -> list[ChallengeFile]:
        """The public files of a challenge, with their sizes and sha256."""
        data = self._call("GET", f"/challenges/{_seg(slug)}/files")
        return [ChallengeFile.from_dict(f) for f in data]

    def download(
        self,
        slug: str,
        path: str | os.PathLike[str] | None = None,
        *,
        progress: bool | None = None,
    ) -> list[DownloadResult]:
        """Download every public file of `slug` into `path` (default ``data/<slug>``).

        A file whose local copy already has the published sha256 is skipped.
        Bytes go to ``<name>.part`` first; an interrupted download resumes
        from there with an HTTP Range request (when the server answers 206,
        else it starts over). Each file is checked against its sha256 before
        it takes its final name; a mismatch removes the partial file and
        raises `ChecksumError`.
        """
        directory = Path(path) if path is not None else Path("data") / slug
        files = self.files(slug)
        directory.mkdir(parents=True, exist_ok=True)
        return [self._download_one(slug, f, directory, progress) for f in files]

    def _download_one(
        self, slug: str, remote: ChallengeFile, directory: Path, progress: bool | None
    ) -> DownloadResult:
        name = _safe_filename(remote.name)
        target = directory / name
        if (
            remote.sha256
            and target.is_file()
            and target.stat().st_size == remote.size
            and sha256_file(target) == remote.sha256
        ):
            return DownloadResult(name, target, remote.size, remote.sha256, "skipped")

        part = directory / f"{name}.part"
        url = f"/challenges/{_seg(slug)}/files/{_seg(name)}"
        enabled = progress_enabled(progress)
        expected = remote.sha256
        resumed = False
        attempt = 0
        while True:
            offset = part.stat().st_size if part.exists() else 0
            if offset and remote.size and offset >= remote.size:
                if offset == remote.size and sha256_file(part) == expected:
                    break  # complete, but the rename was interrupted
                part.unlink()
                offset = 0
            # Byte ranges only make sense on the file itself, not a compressed form.
            headers = {"Accept-Encoding": "identity"}
            if offset:
                headers["Range"] = f"bytes={offset}-"
                if expected:
                    # Resume only if the server still has the same file.
                    headers["If-Range"] = f'"{expected}"'
            try:
                response = self._send(
                    self._build("GET", url, headers=headers), idempotent=True, stream=True
                )
            except APIError as exc:
                if exc.status == 416 and offset:
                    part.unlink()  # our partial file is not a prefix of theirs
                    continue
                raise
            try:
                expected = expected or response.headers.get("X-Content-SHA256", "").lower()
                resumed = self._write_body(response, part, offset, remote.size, name, enabled)
            except httpx.TransportError as exc:
                # The connection dropped mid-file: what arrived stays in .part.
                if attempt < self.retries:
                    _retry.sleep(_retry.backoff(attempt))
                    attempt += 1
                    continue
                raise self._transport_error(exc) from exc
            finally:
                response.close()
            break

        actual = sha256_file(part)
        if expected and actual != expected:
            part.unlink()
            raise ChecksumError(name, expected, actual)
        os.replace(part, target)
        status = "resumed" if resumed else "downloaded"
        return DownloadResult(name, target, target.stat().st_size, actual, status)

    @staticmethod
    def _write_body(
        response: httpx.Response,
        part: Path,
        offset: int,
        size: int,
        name: str,
        enabled: bool,
    ) -> bool:
        """Stream a file response into `part`; return True if it appended to it.

        A 206 that starts where our partial file ends is appended; anything
        else (a 200: no Range support, or the file changed) starts over.
        """
        appending = (
            offset > 0 and response.status_code == 206 and _content_range_start(response) == offset
        )
        if not appending:
            offset = 0
        total = size or _content_length(response, offset)
        with (
            part.open("ab" if appending else "wb") as out,
            transfer_progress(name, total, enabled=enabled) as advance,
        ):
            advance(offset)
            # No chunk size: a chunker would hold back bytes that a dropped
            # connection then loses, instead of leaving them in the .part file.
            for chunk in response.iter_bytes():
                out.write(chunk)
                advance(len(chunk))
        return appending

    # -- teams -------------------------------------------------------------

    def join(self, slug: str) -> Team:
        """Accept the rules of `slug` and become a team of one."""
        return Team.from_dict(self._call("POST", f"/challenges/{_seg(slug)}/join"))

    def team(self, slug: str) -> Team:
        """The caller's team in `slug`, with today's remaining submissions."""
        return Team.from_dict(self._call("GET", f"/challenges/{_seg(slug)}/team"))

    def team_invite(self, slug: str, *, rotate: bool = False) -> str:
        """A code that lets another participant join the caller's team.

        The server keeps giving the same code; ``rotate=True`` replaces it
        (the old one stops working).
        """
        params = {"rotate": "true"} if rotate else None
        data = self._call("POST", f"/challenges/{_seg(slug)}/team/invite", params=params)
        return str(data["code"])

    def team_join(self, slug: str, code: str) -> Team:
        """Join the team that issued the invite `code`."""
        data = self._call("POST", f"/challenges/{_seg(slug)}/team/join", json={"code": code})
        return Team.from_dict(data)

    def rename_team(self, slug: str, name: str) -> Team:
        """Rename the caller's team in `slug`."""
        data = self._call("PATCH", f"/challenges/{_seg(slug)}/team", json={"name": name})
        return Team.from_dict(data)

    # -- submissions -------------------------------------------------------

    def submit(
        self,
        slug: str,
        file: str | os.PathLike[str],
        message: str | None = None,
        kind: str = "csv",
        config: str | os.PathLike[str] | None = None,
        *,
        progress: bool | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Submission:
        """Submit predictions (``kind="csv"``) or a model (``kind="checkpoint"``).

        `metadata` is the submission's fact sheet, a JSON object of at most
        64 KB (model, hidden_sizes, activation, optimizer, learning_rate,
        batch_size, epochs, dropout, weight_decay, seed, val_metric, and
        curve: a list of {epoch, train_loss, val_loss, val_metric}); other
        keys are kept and shown as text. A malformed one raises
        `ValidationError` and costs no quota.

        The file is streamed from disk. For a weights-only checkpoint,
        `config` is the JSON file naming the model family. Returns the queued
        (or already scored) submission; `Client.wait` follows it to the end.

        A submission is not idempotent: it is retried only when the server
        cannot have received it (the connection was never made) or answered
        503 or 429 with a short Retry-After. A refused file raises
        `ValidationError` (422) naming the offending rows; the daily limit
        raises `QuotaExceededError`.
        """
        if kind not in SUBMISSION_KINDS:
            raise ValueError(f"kind must be one of {', '.join(SUBMISSION_KINDS)}, not {kind!r}")
        source = Path(file)
        size = source.stat().st_size  # FileNotFoundError before any request
        config_path = Path(config) if config is not None else None
        if config_path is not None:
            config_path.stat()
        enabled = progress_enabled(progress, size)
        data = {"kind": kind}
        if message is not None:
            data["message"] = message
        if metadata is not None:
            data["metadata"] = json.dumps(dict(metadata), allow_nan=False)

        def factory(stack: ExitStack) -> httpx.Request:
            fh = stack.enter_context(source.open("rb"))
            advance = stack.enter_context(
                transfer_progress(f"submit {source.name}", size, enabled=enabled)
            )
            reader = cast(IO[bytes], ProgressReader(fh, advance))
            files: dict[str, tuple[str, IO[bytes], str]] = {
                "file": (source.name, reader, _content_type(source))
            }
            if config_path is not None:
                cfg = stack.enter_context(config_path.open("rb"))
                files["config"] = (config_path.name, cfg, "application/json")
            return self._http.build_request(
                "POST",
                f"/challenges/{_seg(slug)}/submissions",
                data=data,
                files=files,
                headers=self._auth_headers(),
            )

        response = self._send(factory, idempotent=False)
        return Submission.from_dict(self._json(response))

    def submission(self, submission_id: SubmissionId) -> Submission:
        """One submission by id."""
        return Submission.from_dict(self._call("GET", f"/submissions/{_seg(submission_id)}"))

    def cancel(self, submission_id: SubmissionId) -> Submission:
        """Cancel a queued or running submission of your team; it uses no quota.

        Raises `ConflictError` (409) when it is already scored, failed or cancelled.
        """
        return Submission.from_dict(
            self._call("POST", f"/submissions/{_seg(submission_id)}/cancel")
        )

    def download_submission(
        self, submission_id: SubmissionId, path: str | os.PathLike[str] | None = None
    ) -> Path:
        """Save the file your team submitted; `path` defaults to its name in the current
        directory. Returns where it was written."""
        url = f"/submissions/{_seg(submission_id)}/file"
        headers = {"Accept-Encoding": "identity"}
        response = self._send(
            self._build("GET", url, headers=headers), idempotent=True, stream=True
        )
        try:
            if path is None:
                name = response.headers.get("content-disposition", "")
                found = re.search(r'filename="?([^";]+)"?', name)
                path = _safe_filename(found.group(1) if found else f"submission-{submission_id}")
            target = Path(path)
            part = target.with_name(target.name + ".part")
            with open(part, "wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
        finally:
            response.close()
        os.replace(part, target)
        return target

    def submissions(self, slug: str) -> list[Submission]:
        """The caller's team's submissions to `slug`."""
        data = self._call("GET", f"/challenges/{_seg(slug)}/submissions")
        return [Submission.from_dict(s) for s in data]

    def wait(
        self, submission_id: SubmissionId, timeout: float = 600.0, poll: float = 2.0
    ) -> Submission:
        """Poll a submission until it is scored, failed or cancelled.

        Polls quickly at first (a CSV is usually scored within a second), then
        every `poll` seconds. Raises `podium.TimeoutError` after `timeout`
        seconds; the submission goes on being scored on the server.
        """
        deadline = _retry.monotonic() + timeout
        interval = min(0.25, poll)
        while True:
            sub = self.submission(submission_id)
            if sub.finished:
                return sub
            remaining = deadline - _retry.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"submission {submission_id} is still {sub.status} after {timeout:g} s; "
                    f"check it later with `podium submission {submission_id}`"
                )
            _retry.sleep(min(interval, remaining))
            interval = min(interval * 2, poll)

    def select(self, slug: str, ids: Iterable[SubmissionId]) -> list[SubmissionId]:
        """Choose the submissions that count for the private leaderboard."""
        data = self._call(
            "PUT",
            f"/challenges/{_seg(slug)}/selection",
            json={"submission_ids": list(ids)},
        )
        return list(data.get("selected", [])) if isinstance(data, dict) else []

    def leaderboard(
        self, slug: str, board: str = "public", *, track: str | None = None
    ) -> Leaderboard:
        """The public board, or the private one once the challenge is finalized.
        ``track``: that board on a parameter-budget track of the challenge."""
        if board not in ("public", "private"):
            raise ValueError(f"board must be 'public' or 'private', not {board!r}")
        params = {"board": board} | ({"track": track} if track is not None else {})
        data = self._call("GET", f"/challenges/{_seg(slug)}/leaderboard", params=params)
        return Leaderboard.from_dict(data)

    # -- organizers --------------------------------------------------------

    def create_challenge(self, **fields: Any) -> Challenge:
        """Create a challenge (organizers). Fields as in the API: slug, title,
        description, metric, opens_at, closes_at, daily_submission_limit,
        max_team_size, final_selection_count, submission_kinds... Datetimes
        may be given as `datetime` (naive ones are taken as UTC)."""
        data = self._call("POST", "/challenges", json=_jsonable(fields))
        return Challenge.from_dict(data)

    def update_challenge(self, slug: str, **fields: Any) -> Challenge:
        """Change some fields of a challenge (organizers); ``state="open"`` opens it."""
        data = self._call("PATCH", f"/challenges/{_seg(slug)}", json=_jsonable(fields))
        return Challenge.from_dict(data)

    def open_challenge(self, slug: str) -> Challenge:
        """Open a challenge for submissions (organizers)."""
        return self.update_challenge(slug, state="open")

    def close_challenge(self, slug: str) -> Challenge:
        """Close a challenge early (organizers)."""
        return self.update_challenge(slug, state="closed")

    def upload_file(
        self,
        slug: str,
        path: str | os.PathLike[str],
        name: str | None = None,
        *,
        progress: bool | None = None,
    ) -> ChallengeFile:
        """Publish a file to the challenge's participants (organizers)."""
        remote = name or Path(path).name
        data = self._put_file(
            f"/challenges/{_seg(slug)}/files/{_seg(remote)}", path, progress=progress
        )
        return ChallengeFile.from_dict(data)

    def upload_solution(
        self, slug: str, path: str | os.PathLike[str], *, progress: bool | None = None
    ) -> SolutionInfo:
        """Upload the hidden solution CSV ``id,<target>,usage`` (organizers)."""
        data = self._put_file(f"/challenges/{_seg(slug)}/solution", path, progress=progress)
        return SolutionInfo.from_dict(data)

    def upload_hidden_inputs(
        self, slug: str, path: str | os.PathLike[str], *, progress: bool | None = None
    ) -> dict[str, Any]:
        """Upload the hidden inputs (an ``.npy`` array) that checkpoints are run on."""
        data = self._put_file(f"/challenges/{_seg(slug)}/hidden-inputs", path, progress=progress)
        return cast(dict[str, Any], data) if isinstance(data, dict) else {}

    def finalize(self, slug: str) -> Challenge:
        """Finalize: reveal the private leaderboard (organizers)."""
        return Challenge.from_dict(self._call("POST", f"/challenges/{_seg(slug)}/finalize") or {})

    def rescore(self, slug: str) -> int:
        """Score every submission again (after fixing the solution); returns how many."""
        data = self._call("POST", f"/challenges/{_seg(slug)}/rescore")
        return int(data.get("rescored", 0)) if isinstance(data, dict) else 0

    def requeue(self, slug: str, submission_ids: list[int] | None = None) -> list[int]:
        """Queue again submissions that failed through a platform error (not the team's
        fault): the ids given, or every one; returns the ids queued again."""
        body = {"submission_ids": submission_ids} if submission_ids else {}
        data = self._call("POST", f"/challenges/{_seg(slug)}/queue/requeue", json=body)
        return [int(i) for i in data.get("requeued", [])] if isinstance(data, dict) else []

    def export(
        self, slug: str, board: str = "public", format: str = "csv", *, track: str | None = None
    ) -> str:
        """The full leaderboard as CSV or JSON text (organizers); ``track``: a track's."""
        if format not in ("csv", "json"):
            raise ValueError(f"format must be 'csv' or 'json', not {format!r}")
        params = {"board": board, "format": format}
        if track is not None:
            params["track"] = track
        factory = self._build(
            "GET",
            f"/challenges/{_seg(slug)}/export",
            params=params,
            headers={"Accept": "text/csv" if format == "csv" else "application/json"},
        )
        return self._send(factory, idempotent=True).text


def _content_type(path: Path) -> str:
    if path.suffix.lower() == ".csv":
        return "text/csv"
    if path.suffix.lower() == ".json":
        return "application/json"
    return "application/octet-stream"


def _content_range_start(response: httpx.Response) -> int | None:
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _content_length(response: httpx.Response, offset: int) -> int | None:
    try:
        return int(response.headers["Content-Length"]) + offset
    except (KeyError, ValueError):
        return None
