"""The organizer console's data page: public files, the hidden solution, hidden inputs.

Uploads go through the API's services (``put_file``, ``put_solution``,
``put_hidden_inputs``) behind the same checks as PUT .../files/{name},
.../solution and .../hidden-inputs, run before the body is read. The page
shows each file's sha256, size, rows and classes, and the solution's rows,
public/private split, target and classes: counts and names, never a row of it.
A small script (``js/manage-upload.js``) shows upload progress; without it the
forms post as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from server.challenges import service as challenges
from server.challenges.describe import FileFacts, file_facts, solution_facts
from server.exceptions import PodiumError
from server.models import Challenge, ChallengeFile
from server.storage import BlobStore, StagedBlob, get_blob_store
from server.uploads import before_body
from server.web.context import Page, PageDep, PageRoute
from server.web.manage import CsrfField, managed_challenge
from server.web.manage_gate import organizer_page_gate

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Uploaded = Literal["file", "solution", "hidden-inputs"]
UPLOADED = {
    "file": "File uploaded.",
    "solution": "Solution uploaded and checked against the metric.",
    "hidden-inputs": "Hidden inputs uploaded and checked against the checkpoint spec.",
}
CREATED = {
    "1": "Challenge created as a draft. Upload its files and solution, then open it.",
    "bundle": "Challenge created from the bundle, as a draft: check its data, then open it.",
}


@dataclass(frozen=True)
class FileRow:
    file: ChallengeFile
    facts: FileFacts


def _file_rows(page: Page, challenge: Challenge, store: BlobStore) -> list[FileRow]:
    files = page.session.scalars(
        select(ChallengeFile)
        .where(ChallengeFile.challenge_id == challenge.id)
        .order_by(ChallengeFile.name)
    ).all()
    return [FileRow(f, file_facts(store, f.sha256, f.name)) for f in files]


def _render(
    page: Page,
    challenge: Challenge,
    status_code: int = 200,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    store = get_blob_store(page.settings)
    return page.render(
        "manage/data.html",
        status_code,
        challenge=challenge,
        files=_file_rows(page, challenge, store),
        solution=solution_facts(store, challenge),
        hidden=(
            file_facts(store, challenge.hidden_inputs_sha256, "hidden_inputs.npy")
            if challenge.hidden_inputs_sha256
            else None
        ),
        notice=notice,
        errors=errors or {},
        checkpoints="checkpoint" in (challenge.submission_kinds or []),
    )


@router.get("/manage/{slug}/data", response_class=HTMLResponse)
def data(
    slug: str, page: PageDep, uploaded: Uploaded | None = None, created: str | None = None
) -> Response:
    challenge = managed_challenge(page, slug)
    notice = UPLOADED.get(uploaded or "") or CREATED.get(created or "")
    return _render(page, challenge, notice=notice)


def _chosen(upload: UploadFile | None) -> bool:
    return upload is not None and bool(upload.filename)


def _staged(page: Page, upload: UploadFile) -> StagedBlob:
    return get_blob_store(page.settings).stage_file(upload.file, page.settings.max_upload_bytes)


def _receive(
    page: Page,
    slug: str,
    csrf: str,
    file: UploadFile | None,
    field: str,
    missing: str,
    uploaded: Uploaded,
    put: Callable[[Challenge, StagedBlob], object],
) -> Response:
    """One upload form: CSRF, the management check, the service, the page again
    with the service's refusal under ``field`` (nothing kept), or a redirect."""
    page.require_user()
    page.check_csrf(csrf)
    challenge = managed_challenge(page, slug)
    if file is None or not _chosen(file):
        return _render(page, challenge, 422, errors={field: missing})
    try:
        with _staged(page, file) as staged:
            put(challenge, staged)
    except PodiumError as refused:
        page.session.rollback()
        challenge = managed_challenge(page, slug)
        return _render(page, challenge, refused.status, errors={field: str(refused.detail)})
    page.session.commit()
    return page.redirect(f"/manage/{challenge.slug}/data?uploaded={uploaded}")


@router.post("/manage/{slug}/data/files", response_class=HTMLResponse)
@before_body(organizer_page_gate)
def upload_file(
    slug: str,
    page: PageDep,
    csrf: CsrfField = "",
    file: Annotated[UploadFile | None, File()] = None,
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """PUT .../files/{name} from a form: the name typed, else the file's own name."""
    target = name.strip() or ((file.filename if file else None) or "").rsplit("/", 1)[-1]

    def put(challenge: Challenge, staged: StagedBlob) -> None:
        challenges.check_file_name(target)
        challenges.put_file(page.session, challenge, target, staged)

    return _receive(page, slug, csrf, file, "file", "choose a file to upload", "file", put)


@router.post("/manage/{slug}/data/solution", response_class=HTMLResponse)
@before_body(organizer_page_gate)
def upload_solution(
    slug: str,
    page: PageDep,
    csrf: CsrfField = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """PUT .../solution from a form: checked against the metric, never shown back."""
    store = get_blob_store(page.settings)
    return _receive(
        page,
        slug,
        csrf,
        file,
        "solution",
        "choose the solution CSV",
        "solution",
        lambda challenge, staged: challenges.put_solution(page.session, challenge, staged, store),
    )


@router.post("/manage/{slug}/data/hidden-inputs", response_class=HTMLResponse)
@before_body(organizer_page_gate)
def upload_hidden_inputs(
    slug: str,
    page: PageDep,
    csrf: CsrfField = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """PUT .../hidden-inputs from a form (checkpoint challenges)."""
    store = get_blob_store(page.settings)
    return _receive(
        page,
        slug,
        csrf,
        file,
        "hidden",
        "choose the hidden inputs (.npy)",
        "hidden-inputs",
        lambda c, staged: challenges.put_hidden_inputs(page.session, c, staged, store),
    )
