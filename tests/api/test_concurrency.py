"""More concurrent requests than pooled connections, while the policy store polls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.settings import Settings
from tests.api.conftest import prepare
from tests.factories import CLERK_DONGCHENG, Registry


@pytest.fixture
async def small_pool(database_url: str, tmp_path: Path) -> AsyncIterator[Registry]:
    # 2 pooled connections and 2 more at a peak, on either database.
    settings = Settings(database_url=database_url, signing_key_file=str(tmp_path / "key.pem"),
                        policy_poll_seconds=0.0, db_pool_size=2)
    await prepare(database_url)
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://registry.test", timeout=60) as http:
        yield Registry(app=app, settings=settings, http=http)
    await app.state.registry.database.dispose()


async def test_requests_beyond_the_connection_pool_all_complete_while_policies_are_polled(
        small_pool: Registry) -> None:
    async def one() -> dict[str, object]:
        return await small_pool.gql("{ me { sub } }", as_=CLERK_DONGCHENG)

    bodies = await asyncio.wait_for(asyncio.gather(*(one() for _ in range(24))), timeout=25)
    assert all(body == {"data": {"me": {"sub": "clerk.dongcheng"}}} for body in bodies)
