"""Baselines, announcements, bundles and clones: the hosts' course tools (mixed into Client).

A bundle is a folder (see the server's docs/bundles.md): ``challenge.yaml``, an
optional description file, ``files/``, ``solution.csv`` and an optional
``hidden_inputs.npy``. :func:`check_bundle` validates it here, with the JSON
Schema the server publishes (or the copy shipped with this package when the
server is older), before anything is sent; the server checks it all again and
creates everything in one transaction.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast
from urllib.parse import quote

import httpx
import jsonschema
import yaml

from ._exceptions import NotFoundError
from ._models import Challenge, _dt, _float, _int, _raw, _str

MANIFEST = "challenge.yaml"
SOLUTION = "solution.csv"
HIDDEN_INPUTS = "hidden_inputs.npy"
FILES_DIR = "files"
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
SCHEMA_PATH = Path(__file__).with_name("bundle.schema.json")


class BundleError(ValueError):
    """A bundle folder that cannot be sent as it is; the message lists what to fix."""


@dataclass(frozen=True)
class Baseline:
    """A hosts' reference row: scored like a submission, shown without a rank."""

    name: str
    label: str
    status: str
    public_score: float | None = None
    private_score: float | None = None
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Baseline:
        return cls(
            name=_str(data.get("name")),
            label=_str(data.get("label")),
            status=_str(data.get("status")),
            public_score=_float(data.get("public_score")),
            private_score=_float(data.get("private_score")),
            description=_str(data.get("description")),
            raw=_raw(data),
        )


@dataclass(frozen=True)
class Announcement:
    id: int
    title: str
    body: str
    created_at: datetime | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Announcement:
        return cls(
            id=_int(data.get("id"), 0) or 0,
            title=_str(data.get("title")),
            body=_str(data.get("body")),
            created_at=_dt(data.get("created_at")),
            raw=_raw(data),
        )


def _plain(value: Any) -> Any:
    # YAML reads an unquoted 2027-01-05T14:00:00Z as a datetime: back to ISO text.
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def packaged_schema() -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def check_bundle(
    folder: str | os.PathLike[str], schema: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Validate a bundle folder; returns its settings, or raises BundleError listing problems."""
    root = Path(folder)
    if not root.is_dir():
        raise BundleError(f"{root} is not a folder")
    problems: list[str] = []
    settings: dict[str, Any] = {}
    manifest = root / MANIFEST
    if not manifest.is_file():
        raise BundleError(f"{root}: no {MANIFEST} (every setting of the challenge)")
    try:
        loaded = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise BundleError(f"{MANIFEST} is not valid YAML: {error}") from None
    if not isinstance(loaded, dict):
        raise BundleError(f"{MANIFEST} must be a mapping of settings (slug: ..., title: ...)")
    settings = _plain(loaded)
    validator = jsonschema.Draft202012Validator(dict(schema or packaged_schema()))
    for problem in sorted(validator.iter_errors(settings), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in problem.absolute_path) or "(top level)"
        problems.append(f"{MANIFEST}: {where}: {problem.message}")
    description_file = settings.get("description_file")
    known = {MANIFEST, SOLUTION, HIDDEN_INPUTS, FILES_DIR}
    if isinstance(description_file, str):
        known.add(description_file)
        if not (root / description_file).is_file():
            problems.append(f"{MANIFEST} names description_file {description_file!r}: not found")
        if settings.get("description"):
            problems.append(f"{MANIFEST}: give description or description_file, not both")
    solution = root / SOLUTION
    if not solution.is_file():
        problems.append(f"no {SOLUTION} (id,<target>,usage)")
    else:
        with solution.open(encoding="utf-8", errors="replace") as handle:
            header = [c.strip() for c in handle.readline().split(",")]
        if len(header) < 3 or header[0] != "id" or header[-1] != "usage":
            problems.append(f"{SOLUTION}: the header must be id,<target>,usage, not {header}")
    files = root / FILES_DIR
    if files.exists():
        for path in sorted(files.iterdir()):
            if not path.is_file() or not FILE_NAME.match(path.name) or ".." in path.name:
                problems.append(
                    f"{FILES_DIR}/{path.name}: public files are plain files named with letters, "
                    "digits, '.', '_' or '-'"
                )
    for path in sorted(root.iterdir()):
        if path.name not in known and not path.name.startswith("."):
            problems.append(f"unexpected {path.name!r} in the bundle (see docs/bundles.md)")
    if problems:
        raise BundleError("the bundle has problems:\n  " + "\n  ".join(problems))
    return settings


def zip_bundle(folder: Path, destination: Path) -> None:
    """The bundle folder as the zip the server takes (hidden files left out)."""
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and not any(p.startswith(".") for p in relative.parts):
                archive.write(path, relative.as_posix())


def unzip_bundle(data: Path, folder: Path) -> list[str]:
    """Write a bundle zip into ``folder`` (entry names checked: nothing lands outside)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(data) as archive:
        for info in archive.infolist():
            name = info.filename
            parts = name.split("/")
            if info.is_dir():
                continue
            if name.startswith("/") or "\\" in name or ".." in parts or len(parts) > 2:
                raise BundleError(f"refusing bundle entry {name!r}")
            target = folder.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, target.open("wb") as out:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
            written.append(name)
    return written


def _seg(value: object) -> str:
    return quote(str(value), safe="")


class RulesMixin:
    """Client methods for baselines, announcements, bundles and clones (hosts)."""

    if TYPE_CHECKING:
        _http: httpx.Client

        def _call(
            self,
            method: str,
            path: str,
            *,
            params: Mapping[str, Any] | None = None,
            json: Any = None,
            idempotent: bool | None = None,
        ) -> Any: ...
        def _send(
            self,
            factory: Callable[[ExitStack], httpx.Request],
            *,
            idempotent: bool,
            stream: bool = False,
        ) -> httpx.Response: ...
        def _auth_headers(self) -> dict[str, str]: ...
        def _json(self, response: httpx.Response) -> Any: ...

    # -- baselines ---------------------------------------------------------

    def add_baseline(
        self,
        slug: str,
        name: str,
        file: str | os.PathLike[str],
        description: str = "",
        kind: str = "csv",
    ) -> Baseline:
        """Add a baseline row (hosts): the file is scored like a submission, never ranked."""
        source = Path(file)
        source.stat()

        def factory(stack: ExitStack) -> httpx.Request:
            handle = cast(IO[bytes], stack.enter_context(source.open("rb")))
            return self._http.build_request(
                "POST",
                f"/challenges/{_seg(slug)}/baselines",
                data={"name": name, "description": description, "kind": kind},
                files={"file": (source.name, handle, "application/octet-stream")},
                headers=self._auth_headers(),
            )

        return Baseline.from_dict(self._json(self._send(factory, idempotent=False)))

    def baselines(self, slug: str) -> list[Baseline]:
        data = self._call("GET", f"/challenges/{_seg(slug)}/baselines")
        return [Baseline.from_dict(b) for b in data or []]

    def delete_baseline(self, slug: str, name: str) -> None:
        self._call("DELETE", f"/challenges/{_seg(slug)}/baselines/{_seg(name)}")

    # -- announcements -----------------------------------------------------

    def announce(self, slug: str, title: str, body: str = "") -> Announcement:
        """Post an announcement (hosts): shown on the challenge page, sent to its webhooks."""
        data = self._call(
            "POST", f"/challenges/{_seg(slug)}/announcements", json={"title": title, "body": body}
        )
        return Announcement.from_dict(data)

    def announcements(self, slug: str) -> list[Announcement]:
        """The challenge's announcements, newest first."""
        data = self._call("GET", f"/challenges/{_seg(slug)}/announcements")
        return [Announcement.from_dict(a) for a in data or []]

    def delete_announcement(self, slug: str, announcement_id: int) -> None:
        self._call("DELETE", f"/challenges/{_seg(slug)}/announcements/{_seg(announcement_id)}")

    # -- bundles and clones ------------------------------------------------

    def bundle_schema(self) -> dict[str, Any]:
        """The server's JSON Schema of challenge.yaml (this package's copy if it has none)."""
        try:
            return cast(dict[str, Any], self._call("GET", "/challenge-bundles/schema"))
        except NotFoundError:
            return packaged_schema()

    def create_from_bundle(
        self, folder: str | os.PathLike[str], *, open: bool = False
    ) -> Challenge:
        """Validate a bundle folder here, then create it on the server in one request.

        Raises BundleError before sending anything when the folder is not a valid
        bundle; the server checks it all again, and a refused bundle creates nothing.
        """
        root = Path(folder)
        check_bundle(root, self.bundle_schema())
        with tempfile.TemporaryDirectory(prefix="podium-bundle-") as work:
            archive = Path(work) / "bundle.zip"
            zip_bundle(root, archive)
            size = archive.stat().st_size

            def factory(stack: ExitStack) -> httpx.Request:
                handle = stack.enter_context(archive.open("rb"))
                return self._http.build_request(
                    "POST",
                    "/challenge-bundles",
                    params={"open": "true" if open else "false"},
                    content=handle,
                    headers={
                        **self._auth_headers(),
                        "Content-Type": "application/zip",
                        "Content-Length": str(size),
                    },
                )

            response = self._send(factory, idempotent=False)
        return Challenge.from_dict(self._json(response))

    def download_bundle(self, slug: str, folder: str | os.PathLike[str]) -> list[str]:
        """Write a challenge out as a bundle folder (hosts; the solution is included)."""
        root = Path(folder)
        if root.exists() and any(root.iterdir()):
            raise BundleError(f"{root} is not empty: write a bundle into a new folder")

        def factory(_stack: ExitStack) -> httpx.Request:
            return self._http.build_request(
                "GET", f"/challenges/{_seg(slug)}/bundle", headers=self._auth_headers()
            )

        response = self._send(factory, idempotent=True)
        with tempfile.TemporaryDirectory(prefix="podium-bundle-") as work:
            archive = Path(work) / "bundle.zip"
            archive.write_bytes(response.content)
            return unzip_bundle(archive, root)

    def clone(self, slug: str, new_slug: str, title: str) -> Challenge:
        """A new draft with the settings, files and solution of `slug` (hosts)."""
        data = self._call(
            "POST", f"/challenges/{_seg(slug)}/clone", json={"slug": new_slug, "title": title}
        )
        return Challenge.from_dict(data)
