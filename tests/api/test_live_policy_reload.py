"""A policy change takes effect on the next request in every API process within one second,
through the database, with no restart (DESIGN.md §2, issue 5).

Two app instances share one database, as two processes behind a load balancer would: each
has its own engine, policy store and decision cache. The security admin changes a rule
through instance A; instance B learns of it from the database within its poll interval.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.settings import Settings
from tests.api.conftest import prepare
from tests.api.test_policy_admin import (
    CREATE,
    SEALED_COUNT,
    clerks_may_not_read_sealed,
    sealed_judgment,
)
from tests.factories import CLERK_DONGCHENG, SECURITY_ADMIN, Registry

# The production default (Settings.policy_poll_seconds): the bound the test holds B to.
POLL_SECONDS = 1.0


@pytest.fixture
async def two_instances(database_url: str, tmp_path: Path
                        ) -> AsyncIterator[tuple[Registry, Registry]]:
    key = str(tmp_path / "key.pem")
    await prepare(database_url)
    registries = []
    for _ in range(2):
        settings = Settings(database_url=database_url, signing_key_file=key,
                            policy_poll_seconds=POLL_SECONDS)
        app = create_app(settings)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://registry.test")
        registries.append(Registry(app=app, settings=settings, http=http))
    try:
        yield registries[0], registries[1]
    finally:
        for registry in registries:
            await registry.http.aclose()
            await registry.app.state.registry.database.dispose()


async def sealed_count(registry: Registry) -> int:
    body = await registry.gql(SEALED_COUNT, as_=CLERK_DONGCHENG)
    return int(body["data"]["judgments"]["totalCount"])


async def test_a_change_made_through_one_instance_reaches_the_other_within_a_second(
        two_instances: tuple[Registry, Registry]) -> None:
    a, b = two_instances
    await sealed_judgment(a)
    # Both instances have loaded the set and decided this request: B's decision is cached.
    assert await sealed_count(a) == 1
    assert await sealed_count(b) == 1

    body = await a.gql(CREATE, {"p": clerks_may_not_read_sealed()}, as_=SECURITY_ADMIN)
    assert body["data"]["createPolicy"]["version"] == 1, body
    changed_at = time.monotonic()

    # The instance that made the change obeys it on the very next request.
    assert await sealed_count(a) == 0
    # The other learns of it through the database: ask it until it does. A request that
    # B started more than a second after the change was committed must see it.
    while True:
        started = time.monotonic()
        if await sealed_count(b) == 0:
            break
        assert started - changed_at <= POLL_SECONDS, "B still uses the old set"
        await asyncio.sleep(0.05)
    # And from then on, every request there obeys it; nobody restarted anything.
    assert await sealed_count(b) == 0
    versions = [(await r.app.state.registry.policies.current()).version for r in (a, b)]
    assert versions[0] == versions[1]


async def test_after_a_second_every_instance_decides_with_the_new_set(
        two_instances: tuple[Registry, Registry]) -> None:
    a, b = two_instances
    await sealed_judgment(a)
    assert await sealed_count(b) == 1
    await a.gql(CREATE, {"p": clerks_may_not_read_sealed()}, as_=SECURITY_ADMIN)
    await asyncio.sleep(POLL_SECONDS + 0.05)
    # The next request, whichever instance serves it.
    assert [await sealed_count(b), await sealed_count(a)] == [0, 0]
