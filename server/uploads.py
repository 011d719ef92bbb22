"""Read an uploaded file from a request: the raw body, or the multipart field ``file``."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import UploadFile

from server.config import get_settings
from server.exceptions import Invalid
from server.storage import StoredBlob, get_blob_store


async def read_upload(request: Request) -> StoredBlob:
    """Stream the uploaded file to the blob store (size-capped, never whole in memory)."""
    settings = get_settings()
    store = get_blob_store(settings)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid("multipart upload needs a field named 'file'")
        upload.file.seek(0)
        return store.put_file(upload.file, settings.max_upload_bytes)
    return await store.put_stream(request.stream(), settings.max_upload_bytes)
