"""Attack 5: large bodies. Bodies were read whole before their size was checked:
8 x 100 MB posted to /oauth/token (no authentication needed) raised memory by 0.9 GB. A
body over its limit (256 KB for /graphql, 16 KB for /oauth/token) is now answered 413 as
soon as the limit is passed, at once where `Content-Length` says so, and the rest of it is
never read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.factories import CLERK_DONGCHENG, Registry
from tests.live import live_server
from tests.security.conftest import audit_count

CHUNK = 16 * 1024
LIMITS = {"/graphql": 256 * 1024, "/oauth/token": 16 * 1024}


class Sender:
    """A request body of `total` bytes in 16 KB chunks, counting what the server pulled."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += CHUNK
            yield b" " * CHUNK


@pytest.mark.parametrize("path", sorted(LIMITS))
async def test_a_streamed_body_over_the_limit_is_refused_once_the_limit_is_passed(
        registry: Registry, path: str) -> None:
    sender = Sender(100 * 1024 * 1024)
    response = await registry.http.post(path, content=sender.chunks(), headers={
        "Content-Type": "application/json" if path == "/graphql"
        else "application/x-www-form-urlencoded",
        "Authorization": f"Bearer {registry.token(*CLERK_DONGCHENG)}"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert sender.sent <= LIMITS[path] + CHUNK, f"{sender.sent} bytes were read"


@pytest.mark.parametrize("path", sorted(LIMITS))
async def test_a_declared_length_over_the_limit_is_refused_before_reading_anything(
        registry: Registry, path: str) -> None:
    sender = Sender(LIMITS[path] + 1)
    response = await registry.http.post(path, content=sender.chunks(), headers={
        "Content-Length": str(LIMITS[path] + 1), "Content-Type": "application/json"})
    assert response.status_code == 413
    assert sender.sent == 0


async def test_an_oversized_graphql_body_runs_nothing(registry: Registry) -> None:
    audited = await audit_count(registry)
    query = "{ judgments { totalCount } }" + " " * LIMITS["/graphql"]
    response = await registry.http.post(
        "/graphql", json={"query": query},
        headers={"Authorization": f"Bearer {registry.token(*CLERK_DONGCHENG)}"})
    assert response.status_code == 413
    assert await audit_count(registry) == audited


async def test_a_body_at_the_limit_is_still_read(registry: Registry) -> None:
    document = '{"query": "{ me { sub } }"}'
    body = document + " " * (LIMITS["/graphql"] - len(document))
    response = await registry.http.post("/graphql", content=body.encode(), headers={
        "Content-Type": "application/json",
        "Authorization": f"Bearer {registry.token(*CLERK_DONGCHENG)}"})
    assert response.status_code == 200
    assert response.json()["data"]["me"]["sub"] == CLERK_DONGCHENG[0]


async def _answer_to_a_partial_upload(host: str, port: int, head: bytes, body: bytes) -> bytes:
    """Sends the head and the start of a body that is never finished; what comes back."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(head + body)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), timeout=10)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_a_server_answers_413_while_a_100_mb_upload_has_barely_started(
        registry: Registry) -> None:
    async with live_server(registry.app) as (host, port):
        head = (f"POST /oauth/token HTTP/1.1\r\nHost: {host}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {100 * 1024 * 1024}\r\n\r\n").encode()
        answer = await _answer_to_a_partial_upload(host, port, head, b"grant_type=" * 100)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


async def test_a_chunked_upload_without_a_length_is_cut_off_at_the_limit(
        registry: Registry) -> None:
    async with live_server(registry.app) as (host, port):
        head = (f"POST /graphql HTTP/1.1\r\nHost: {host}\r\n"
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                f"Authorization: Bearer {registry.token(*CLERK_DONGCHENG)}\r\n\r\n").encode()
        chunk = b"%x\r\n%s\r\n" % (CHUNK, b" " * CHUNK)
        # 17 chunks pass the 256 KB limit; the upload never ends.
        answer = await _answer_to_a_partial_upload(host, port, head, chunk * 17)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
