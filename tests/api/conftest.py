from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from api.seed import DEMO_AGENCIES
from api.settings import Settings
from db.engine import Database
from db.models import Agency
from policies.store import ensure_defaults
from tests.factories import Registry


async def prepare(database_url: str) -> None:
    """Default policies and the demo agencies (no demo people: tests make their own)."""
    database = Database(database_url)
    try:
        async with database.session() as session:
            await ensure_defaults(session)
            # The agencies add_agency would make (an empty database: no notice to adopt, no
            # code taken), in one statement: every API test starts here.
            session.add_all([Agency(code=code, kind=kind, name=name, region=region)
                             for code, kind, name, region in DEMO_AGENCIES])
            await session.commit()
    finally:
        await database.dispose()


@pytest.fixture
def settings(database_url: str, signing_key_file: str) -> Settings:
    # Domain tests are not about rate limits (tests/security/abuse/test_3_rate_limits.py is,
    # with the defaults): each subject's bucket here never runs dry.
    return Settings(database_url=database_url, signing_key_file=signing_key_file,
                    policy_poll_seconds=0.0, rate_bucket=10**7, rate_restore=10.0**7)


@pytest.fixture
async def registry(settings: Settings) -> AsyncIterator[Registry]:
    await prepare(settings.database_url)
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://registry.test") as http:
        yield Registry(app=app, settings=settings, http=http)
    await app.state.registry.close()
