"""ASGI middleware: request body size cap and idle timeout, security headers."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import BodyTimeout, BodyTooLarge

JSON_BODY_LIMIT = 1024 * 1024
STREAMED_CONTENT_TYPES = ("multipart/form-data", "application/octet-stream", "text/csv")


class BodySizeLimitMiddleware:
    """Refuse bodies over the limit with 413, by Content-Length or while streaming.

    With ``idle_timeout``, a body that stops arriving for that long is answered
    with 408: a client trickling bytes cannot hold a worker thread and an upload
    slot forever. The wait is bounded only until the body is complete, since
    frameworks keep calling ``receive`` afterwards to notice disconnects.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, idle_timeout: float | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.idle_timeout = idle_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        # Anything that is not a declared upload is parsed in memory: cap it hard.
        is_upload = scope["method"] == "PUT" or content_type.startswith(STREAMED_CONTENT_TYPES)
        limit = self.max_bytes if is_upload else min(self.max_bytes, JSON_BODY_LIMIT)
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False
            if too_big:
                await _send_413(send, limit)
                return
        received = 0
        body_complete = False

        async def limited_receive() -> Message:
            nonlocal received, body_complete
            if body_complete or self.idle_timeout is None:
                message = await receive()
            else:
                try:
                    message = await asyncio.wait_for(receive(), self.idle_timeout)
                except TimeoutError:
                    raise BodyTimeout(self.idle_timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
                body_complete = not message.get("more_body", False)
            return message

        await self.app(scope, limited_receive, send)


async def _send_413(send: Send, limit: int) -> None:
    body = f'{{"detail":"request body too large: the limit is {limit / 1048576:g} MB"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeadersMiddleware:
    """Headers every response carries (CSP without inline scripts, no framing, nosniff)."""

    CSP = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"content-security-policy", self.CSP.encode()),
                ]
                headers.extend((k, v) for k, v in extra if k not in names)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
