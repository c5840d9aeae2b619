"""For the attacks on the token endpoint and on clients: a registered client (those that
need a real server take `registry serve` from tests/live.py)."""

from __future__ import annotations

from api.clients import create_client
from tests.factories import Registry


async def case_system(app: Registry) -> tuple[str, str]:
    """A police case system registered as a client-credentials client: (id, secret)."""
    async with app.app.state.registry.database.session() as session:
        created = await create_client(session, name="Case system", role="police_officer",
                                      agency_code="PSB-110101")
        await session.commit()
    return created
