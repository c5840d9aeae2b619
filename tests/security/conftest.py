"""Fixtures for attacks over HTTP: the API app of tests/api, in development and production.

`registry` and `settings` are the fixtures of tests/api/conftest.py (a migrated database
with the default policies and the demo agencies, on SQLite and on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlmodel import func, select

from api.app import create_app
from api.settings import Settings
from db.models import AuditEvent
from tests.api.conftest import prepare, registry, settings  # noqa: F401
from tests.factories import Registry

__all__ = ["audit_count", "count", "post", "serve"]


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[Registry]:  # noqa: F811
    """An app on an already prepared database (a second app beside `registry`)."""
    app = create_app(settings)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://registry.test") as http:
            yield Registry(app=app, settings=settings, http=http)
    finally:
        await app.state.registry.close()


@pytest.fixture
async def production(settings: Settings) -> AsyncIterator[Registry]:  # noqa: F811
    """The app with `env=production`: no GraphiQL, no introspection, no suggestions."""
    await prepare(settings.database_url)
    async with serve(settings.with_(env="production")) as app:
        yield app


async def count(registry: Registry, model: Any) -> int:  # noqa: F811
    async with registry.app.state.registry.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def audit_count(registry: Registry) -> int:  # noqa: F811
    return await count(registry, AuditEvent)


async def post(registry: Registry, query: str,  # noqa: F811
               variables: dict[str, Any] | None = None, *,
               as_: tuple[str, str, str | None]) -> httpx.Response:
    """POST a document as JSON; unlike `Registry.gql` the status is the caller's to check."""
    return await registry.http.post(
        "/graphql", json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {registry.token(*as_)}"})
