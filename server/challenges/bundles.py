"""Challenge bundles and clones: a challenge as a folder, and a copy of one.

A bundle is ``challenge.yaml`` (every setting of :class:`ChallengeCreate` but
the webhooks), an optional description file, ``files/`` (the public files),
``solution.csv`` and an optional ``hidden_inputs.npy``; it travels as a zip.
``challenge.yaml`` is checked against ``bundle.schema.json`` (generated from
:class:`ChallengeCreate` by :func:`bundle_json_schema`; the client ships the
same file) and then by the pydantic schema itself, so a new setting of the
create schema is a bundle setting too. See docs/bundles.md.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import jsonschema
import yaml
from pydantic import ValidationError
from sqlalchemy.orm import Session

from server.challenges import service
from server.challenges.schemas import ChallengeCreate, ChallengeUpdate
from server.exceptions import Invalid, TooLarge
from server.models import Challenge, ChallengeFile, User
from server.storage import BlobStore, StoredBlob

MANIFEST = "challenge.yaml"
SOLUTION = "solution.csv"
HIDDEN_INPUTS = "hidden_inputs.npy"
FILES_DIR = "files/"
DESCRIPTION_FILE = "description.md"
# Per deployment, and secret-ish: webhooks are never part of a bundle.
NOT_IN_BUNDLES = frozenset({"webhooks"})
SCHEMA_PATH = Path(__file__).with_name("bundle.schema.json")
SCHEMA_ID = "https://podium.invalid/schemas/bundle.schema.json"
MAX_ENTRIES = 10_000


def bundle_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``challenge.yaml``, derived from :class:`ChallengeCreate`."""
    schema = ChallengeCreate.model_json_schema()
    properties = {k: v for k, v in schema["properties"].items() if k not in NOT_IN_BUNDLES}
    properties["description_file"] = {
        "type": "string",
        "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$",
        "description": "A Markdown file of the bundle holding the description "
        "(instead of 'description')",
        "title": "Description File",
    }
    # The definitions the properties refer to, and those they refer to in turn.
    all_defs = schema.get("$defs", {})
    defs: dict[str, Any] = {}
    referring = json.dumps(properties)
    while True:
        more = {
            name: definition
            for name, definition in all_defs.items()
            if name not in defs and f'"#/$defs/{name}"' in referring
        }
        if not more:
            break
        defs |= more
        referring = json.dumps(list(more.values()))
    result: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Podium challenge bundle: challenge.yaml",
        "description": "Every setting of a challenge; see docs/bundles.md. "
        "Generated from the server's ChallengeCreate schema (podium-server bundle-schema).",
        "type": "object",
        "properties": properties,
        "required": [r for r in schema.get("required", []) if r in properties],
        "additionalProperties": False,
    }
    if defs:
        result["$defs"] = defs
    return result


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The schema file shipped with the server (the client ships the same one)."""
    return dict(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def _plain(value: Any) -> Any:
    # YAML reads an unquoted 2026-01-05T14:00:00Z as a datetime: back to the ISO text.
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def parse_manifest(text: bytes) -> dict[str, Any]:
    """``challenge.yaml`` as a mapping checked against the JSON Schema, or Invalid."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise Invalid(f"{MANIFEST} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise Invalid(f"{MANIFEST} must be a mapping of settings (slug: ..., title: ...)")
    data = _plain(data)
    validator = jsonschema.Draft202012Validator(load_schema())
    problems = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if problems:
        lines = [
            f"{'.'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message}"
            for e in problems[:10]
        ]
        raise Invalid(f"{MANIFEST} does not match the bundle schema: " + "; ".join(lines))
    return dict(data)


def to_create(settings: dict[str, Any], description: str | None) -> ChallengeCreate:
    settings = dict(settings)
    settings.pop("description_file", None)
    if description is not None:
        if settings.get("description"):
            raise Invalid(f"{MANIFEST}: give description or description_file, not both")
        settings["description"] = description
    try:
        return ChallengeCreate.model_validate(settings)
    except ValidationError as error:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in error.errors()[:10]
        )
        raise Invalid(f"{MANIFEST}: {details}") from None


@dataclass
class Bundle:
    settings: ChallengeCreate
    files: dict[str, StoredBlob] = field(default_factory=dict)
    solution: StoredBlob | None = None
    hidden_inputs: StoredBlob | None = None


@dataclass(frozen=True)
class _Entry:
    size: int
    open: Callable[[], IO[bytes]]


def _check_names(names: dict[str, _Entry]) -> dict[str, _Entry]:
    """Entry names relative to the bundle's root (a single top folder is stripped)."""
    if len(names) > MAX_ENTRIES:
        raise Invalid(f"a bundle holds at most {MAX_ENTRIES} files")
    for name in names:
        if name.startswith("/") or "\\" in name or ".." in name.split("/"):
            raise Invalid(f"bundle entry '{name}': absolute paths, '\\' and '..' are refused")
    if MANIFEST not in names:
        tops = {name.split("/", 1)[0] for name in names}
        if len(tops) == 1 and f"{next(iter(tops))}/{MANIFEST}" in names:
            prefix = f"{next(iter(tops))}/"
            names = {name[len(prefix) :]: entry for name, entry in names.items()}
        else:
            raise Invalid(f"a bundle needs {MANIFEST} at its top level")
    return names


def _store(entry: _Entry, store: BlobStore, budget: list[int]) -> StoredBlob:
    if entry.size > budget[0]:
        raise TooLarge("the bundle unpacks to more than the upload limit (PODIUM_MAX_UPLOAD_MB)")
    with entry.open() as source:
        blob = store.put_file(cast(BinaryIO, source), budget[0])
    budget[0] -= blob.size
    return blob


def _read(entry: _Entry, limit: int = 10 * 1024 * 1024) -> bytes:
    if entry.size > limit:
        raise TooLarge(f"{MANIFEST} and the description are at most {limit // 1024 // 1024} MB")
    with entry.open() as source:
        return source.read(limit + 1)[:limit]


def _build(names: dict[str, _Entry], store: BlobStore, max_bytes: int) -> Bundle:
    names = _check_names(names)
    budget = [max_bytes]
    settings = parse_manifest(_read(names[MANIFEST]))
    description_file = settings.get("description_file")
    description = None
    if description_file is not None:
        if description_file not in names:
            raise Invalid(
                f"{MANIFEST} names description_file '{description_file}': "
                "no such file in the bundle"
            )
        description = _read(names[description_file]).decode("utf-8")
    bundle = Bundle(to_create(settings, description))
    for name, entry in sorted(names.items()):
        if name in (MANIFEST, description_file):
            continue
        if name == SOLUTION:
            bundle.solution = _store(entry, store, budget)
        elif name == HIDDEN_INPUTS:
            bundle.hidden_inputs = _store(entry, store, budget)
        elif name.startswith(FILES_DIR) and "/" not in name[len(FILES_DIR) :]:
            file_name = name[len(FILES_DIR) :]
            service.check_file_name(file_name)
            bundle.files[file_name] = _store(entry, store, budget)
        else:
            raise Invalid(
                f"unexpected bundle entry '{name}': a bundle holds {MANIFEST}, its "
                f"description file, {FILES_DIR}<name>, {SOLUTION} and {HIDDEN_INPUTS}"
            )
    if bundle.solution is None:
        raise Invalid(f"a bundle needs {SOLUTION} (id,<target>,usage)")
    return bundle


def read_bundle(path: Path, store: BlobStore, max_bytes: int) -> Bundle:
    """Unpack and check a bundle zip (nothing is written to the database)."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise Invalid("a bundle must be a zip of the bundle folder (see docs/bundles.md)") from None
    with archive:
        names = {
            info.filename: _Entry(info.file_size, partial(archive.open, info))
            for info in archive.infolist()
            if not info.is_dir()
        }
        try:
            return _build(names, store, max_bytes)
        except (zipfile.BadZipFile, UnicodeDecodeError, OSError, EOFError) as error:
            raise Invalid(f"the bundle zip cannot be read: {error}") from None


def _open_binary(path: Path) -> IO[bytes]:
    return path.open("rb")


def read_bundle_folder(folder: Path, store: BlobStore, max_bytes: int) -> Bundle:
    """Check a bundle folder on this machine (the demo's, say); hidden files are skipped."""
    names = {
        path.relative_to(folder).as_posix(): _Entry(
            path.stat().st_size, partial(_open_binary, path)
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    }
    try:
        return _build(names, store, max_bytes)
    except UnicodeDecodeError as error:
        raise Invalid(f"the bundle cannot be read: {error}") from None


def create_from_bundle(
    session: Session, bundle: Bundle, host: User, store: BlobStore, open_it: bool = False
) -> Challenge:
    """Create the challenge, its files, solution and hidden inputs (and open it).

    Everything happens in the caller's transaction: any refusal leaves nothing.
    """
    challenge = service.create_challenge(session, bundle.settings, host)
    assert bundle.solution is not None
    service.put_solution(session, challenge, bundle.solution, store)
    if bundle.hidden_inputs is not None:
        service.put_hidden_inputs(session, challenge, bundle.hidden_inputs, store)
    for name, blob in bundle.files.items():
        service.put_file(session, challenge, name, blob)
    if open_it:
        service.update_challenge(session, challenge, ChallengeUpdate(state="open"))
    session.flush()
    return challenge


def settings_of(challenge: Challenge, exclude: frozenset[str] = NOT_IN_BUNDLES) -> dict[str, Any]:
    """The challenge's settings as its create schema reads them (JSON-ready)."""
    values = {
        name: getattr(challenge, name)
        for name in ChallengeCreate.model_fields
        if hasattr(challenge, name) and getattr(challenge, name) is not None
    }
    return ChallengeCreate.model_validate(values).model_dump(mode="json", exclude=set(exclude))


def manifest_of(challenge: Challenge) -> bytes:
    settings = settings_of(challenge)
    settings.pop("description", None)
    settings["description_file"] = DESCRIPTION_FILE
    return yaml.safe_dump(settings, sort_keys=False, allow_unicode=True).encode()


def bundle_entries(challenge: Challenge, store: BlobStore) -> Iterator[tuple[str, Path | bytes]]:
    """What a bundle of ``challenge`` holds: (entry name, blob path or bytes)."""
    yield MANIFEST, manifest_of(challenge)
    yield DESCRIPTION_FILE, challenge.description.encode()
    for file in challenge.files:
        yield f"{FILES_DIR}{file.name}", store.path_for(file.sha256)
    if challenge.solution_sha256 is not None:
        yield SOLUTION, store.path_for(challenge.solution_sha256)
    if challenge.hidden_inputs_sha256 is not None:
        yield HIDDEN_INPUTS, store.path_for(challenge.hidden_inputs_sha256)


def write_bundle_zip(challenge: Challenge, store: BlobStore, destination: Path) -> None:
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, source in bundle_entries(challenge, store):
            if isinstance(source, bytes):
                archive.writestr(name, source)
            else:
                archive.write(source, name)


def clone(session: Session, source: Challenge, host: User, slug: str, title: str) -> Challenge:
    """A new draft with the settings, files, solution and hidden inputs of ``source``."""
    settings = settings_of(source, exclude=frozenset())
    settings |= {"slug": slug, "title": title}
    challenge = service.create_challenge(session, ChallengeCreate.model_validate(settings), host)
    for file in source.files:
        session.add(
            ChallengeFile(
                challenge_id=challenge.id, name=file.name, sha256=file.sha256, size=file.size
            )
        )
    challenge.solution_sha256 = source.solution_sha256
    challenge.solution_target = source.solution_target
    challenge.solution_rows = source.solution_rows
    challenge.hidden_inputs_sha256 = source.hidden_inputs_sha256
    session.flush()
    return challenge
