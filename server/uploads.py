"""Uploads: checks that run before a body is read, and reading an organizer's file
(the raw body, or the multipart field ``file``)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from server.config import Settings, get_settings
from server.exceptions import Invalid
from server.storage import StagedBlob, get_blob_store

Check = Callable[[Request, Settings], None]
GATE_ATTRIBUTE = "podium_before_body"


def before_body(check: Check) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a route: ``check(request, settings)`` runs (in a thread) before its body is read.

    FastAPI reads a form body before it solves any dependency; the check lets a
    route refuse (401, 404, 429, ...) without spooling the upload first.
    """

    def mark(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        setattr(endpoint, GATE_ATTRIBUTE, check)
        return endpoint

    return mark


async def run_gate(route: APIRoute, request: Request) -> None:
    check: Check | None = getattr(route.endpoint, GATE_ATTRIBUTE, None)
    if check is not None:
        await run_in_threadpool(check, request, get_settings())


class GatedRoute(APIRoute):
    """API routes whose :func:`before_body` check runs before FastAPI reads the body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            await run_gate(self, request)
            return await handler(request)

        return route


async def read_upload(request: Request) -> StagedBlob:
    """Stage the uploaded file (size-capped, never whole in memory): the caller commits
    it to the store once accepted, or discards it (``with staged:``)."""
    settings = get_settings()
    store = get_blob_store(settings)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid("multipart upload needs a field named 'file'")
        upload.file.seek(0)
        return store.stage_file(upload.file, settings.max_upload_bytes)
    return await store.stage_stream(request.stream(), settings.max_upload_bytes)
