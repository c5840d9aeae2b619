"""What every HTTP response carries, and what no request may send (CONTRACT.md §2).

`ResponseHeaders`: a request id on every response (an incoming well-formed
`X-Request-ID` is kept, so a portal can follow its request into our logs and audit
trail), `Cache-Control: no-store` and `X-Content-Type-Options: nosniff`. `BodyLimit`:
a body larger than its path's limit is answered 413 as soon as the limit is passed
(or at once, from `Content-Length`); the rest is never read.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
SECURITY_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))
_REPLACED = frozenset(name for name, _ in SECURITY_HEADERS) | {b"x-request-id"}


class Observer(Protocol):
    def observe(self, scope: Scope, path: str, status: int, seconds: float) -> None: ...


def request_id_from(scope: Scope) -> str:
    """The caller's `X-Request-ID` where it is 1 to 64 of `[A-Za-z0-9._-]`, else a new one:
    anything else could forge log lines or carry data into them."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return os.urandom(16).hex()  # as uuid4().hex, without building a UUID


class ResponseHeaders:
    def __init__(self, app: ASGIApp, observer: Observer, known_paths: frozenset[str]) -> None:
        self.app = app
        self.observer = observer
        self.known_paths = known_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        path = scope["path"] if scope["path"] in self.known_paths else "other"
        started = time.perf_counter()
        status = 500
        added = [(b"x-request-id", request_id.encode()), *SECURITY_HEADERS]

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                kept = [(k, v) for k, v in message.get("headers", ()) if k.lower() not in _REPLACED]
                message["headers"] = [*kept, *added]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            self.observer.observe(scope, path, status, time.perf_counter() - started)


class BodyTooLarge(Exception):
    """Raised from `receive` once a body passes its limit."""


class BodyLimit:
    def __init__(self, app: ASGIApp, limits: Mapping[str, int], default: int) -> None:
        self.app = app
        self.limits = limits
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"errors": [{
        "message": f"request body larger than {limit} bytes",
        "extensions": {"code": "BAD_REQUEST"}}]}).encode()
    # The unread rest of the body makes the connection useless: the client is told so.
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
