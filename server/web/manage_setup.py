"""The organizer console's setup pages: create, edit, create from a bundle, clone.

The forms go through the API's own schema (``ChallengeCreate``,
``ChallengeUpdate``, ``CloneRequest``) and services (``create_challenge``,
``update_challenge``, ``bundles.create_from_bundle``, ``bundles.clone``),
behind the same checks as the /manage pages: the organizer role, then the
challenge as ``get_managed`` finds it. A refused form comes back with what
was typed and the messages next to their fields (422, or the service's status).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from server.challenges import bundles
from server.challenges import service as challenges
from server.challenges.bundle_router import CloneRequest
from server.exceptions import PodiumError
from server.models import Challenge
from server.storage import get_blob_store
from server.uploads import before_body
from server.web.context import Page, PageDep, PageRoute
from server.web.manage import CsrfField, managed_challenge, require_organizer
from server.web.manage_forms import (
    SettingsForm,
    blank_form,
    challenge_form,
    metric_names,
    read_form,
    to_create,
    to_update,
)
from server.web.manage_gate import organizer_page_gate
from server.web.rendering import render_markdown

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Intent = Literal["save", "preview"]


async def posted_form(request: Request) -> FormData:
    """The whole posted form (its inputs are named after the settings' paths)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]


def _render_settings(
    page: Page,
    form: SettingsForm,
    challenge: Challenge | None = None,
    status_code: int = 200,
    preview: bool = False,
    notice: str | None = None,
    bundle_error: str | None = None,
) -> Response:
    return page.render(
        "manage/settings.html",
        status_code,
        form=form,
        challenge=challenge,
        metrics=metric_names(),
        preview=render_markdown(form.value("description")) if preview else None,
        notice=notice,
        bundle_error=bundle_error,
    )


@router.get("/manage/new", response_class=HTMLResponse)
def new_challenge(page: PageDep) -> Response:
    require_organizer(page)
    return _render_settings(page, blank_form())


@router.post("/manage/new", response_class=HTMLResponse)
def create(
    page: PageDep,
    posted: PostedForm,
    csrf: CsrfField = "",
    intent: Annotated[Intent, Form()] = "save",
) -> Response:
    user = require_organizer(page)
    page.check_csrf(csrf)
    form = read_form(posted, posted.getlist)
    if intent == "preview":
        return _render_settings(page, form, preview=True)
    body = to_create(form)
    if body is None:
        return _render_settings(page, form, status_code=422)
    try:
        challenge = challenges.create_challenge(page.session, body, user)
    except PodiumError as refused:
        page.session.rollback()
        form.add_refusal(str(refused.detail))
        return _render_settings(page, form, status_code=refused.status)
    page.session.commit()
    return page.redirect(f"/manage/{challenge.slug}/data?created=1")


@router.post("/manage/new/bundle", response_class=HTMLResponse)
@before_body(organizer_page_gate)
def create_from_bundle(
    page: PageDep,
    csrf: CsrfField = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """The browser's version of POST /api/v1/challenge-bundles (a zip of the bundle folder)."""
    user = require_organizer(page)
    page.check_csrf(csrf)
    if file is None or not file.filename:
        return _render_settings(
            page, blank_form(), status_code=422, bundle_error="choose a bundle zip"
        )
    store = get_blob_store()
    try:
        with store.stage_file(file.file, page.settings.max_upload_bytes) as staged:
            bundle = bundles.read_bundle(staged.path, store, page.settings.max_upload_bytes)
            challenge = bundles.create_from_bundle(page.session, bundle, user, store)
    except PodiumError as refused:
        page.session.rollback()
        return _render_settings(
            page, blank_form(), status_code=refused.status, bundle_error=str(refused.detail)
        )
    page.session.commit()
    return page.redirect(f"/manage/{challenge.slug}/data?created=bundle")


@router.get("/manage/{slug}/edit", response_class=HTMLResponse)
def edit(slug: str, page: PageDep, saved: bool = False) -> Response:
    challenge = managed_challenge(page, slug)
    notice = "Settings saved." if saved else None
    return _render_settings(page, challenge_form(challenge), challenge, notice=notice)


@router.post("/manage/{slug}/edit", response_class=HTMLResponse)
def save(
    slug: str,
    page: PageDep,
    posted: PostedForm,
    csrf: CsrfField = "",
    intent: Annotated[Intent, Form()] = "save",
) -> Response:
    page.require_user()
    page.check_csrf(csrf)
    challenge = managed_challenge(page, slug)
    form = read_form(posted, posted.getlist)
    form.values["slug"] = challenge.slug  # not editable: it is in every URL
    if intent == "preview":
        return _render_settings(page, form, challenge, preview=True)
    body = to_update(form)
    if body is None:
        return _render_settings(page, form, challenge, status_code=422)
    try:
        challenges.update_challenge(page.session, challenge, body, get_blob_store())
    except PodiumError as refused:
        page.session.rollback()
        form.add_refusal(str(refused.detail))
        challenge = managed_challenge(page, slug)
        return _render_settings(page, form, challenge, status_code=refused.status)
    page.session.commit()
    return page.redirect(f"/manage/{challenge.slug}/edit?saved=1")


def _render_clone(
    page: Page,
    challenge: Challenge,
    values: dict[str, str],
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    return page.render(
        "manage/clone.html", status_code, challenge=challenge, values=values, errors=errors or {}
    )


@router.get("/manage/{slug}/clone", response_class=HTMLResponse)
def clone_form(slug: str, page: PageDep) -> Response:
    challenge = managed_challenge(page, slug)
    values = {"slug": f"{challenge.slug}-copy"[:63], "title": f"{challenge.title} (copy)"[:200]}
    return _render_clone(page, challenge, values)


@router.post("/manage/{slug}/clone", response_class=HTMLResponse)
def clone(
    slug: str,
    page: PageDep,
    csrf: CsrfField = "",
    new_slug: Annotated[str, Form(alias="slug")] = "",
    title: Annotated[str, Form()] = "",
) -> Response:
    """The browser's version of POST /api/v1/challenges/{slug}/clone."""
    user = page.require_user()
    page.check_csrf(csrf)
    challenge = managed_challenge(page, slug)
    values = {"slug": new_slug.strip(), "title": title.strip()}
    errors: dict[str, list[str]] = {}
    try:
        body = CloneRequest.model_validate(values)
        copy = bundles.clone(page.session, challenge, user, body.slug, body.title)
    except ValidationError as error:
        for problem in error.errors():
            name = str(problem["loc"][0]) if problem["loc"] else "slug"
            errors.setdefault(name, []).append(str(problem["msg"]).removeprefix("Value error, "))
        return _render_clone(page, challenge, values, errors, 422)
    except PodiumError as refused:
        page.session.rollback()
        errors["slug"] = [str(refused.detail)]
        return _render_clone(page, managed_challenge(page, slug), values, errors, refused.status)
    page.session.commit()
    return page.redirect(f"/manage/{copy.slug}/edit")
