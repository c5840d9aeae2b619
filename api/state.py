"""What the app factory builds once and every request shares (no module-level globals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from api.auth import TokenVerifier
from api.issuer import Issuer
from api.settings import Settings
from api.token_throttle import TokenThrottle
from db.audit import AuditChain, GroupCommit
from db.engine import Database
from policies.store import PolicyStore
from schema import RegistrySchema

if TYPE_CHECKING:
    from api.context import AgencyDirectory
    from api.ratelimit import Buckets


@dataclass
class AppState:
    settings: Settings
    database: Database
    schema: RegistrySchema
    policies: PolicyStore
    audit: AuditChain
    issuer: Issuer | None
    # None where no request is served: the bulk importer verifies no token.
    verifier: TokenVerifier | None
    agencies: AgencyDirectory
    # The requesters' buckets of cost points; None where nothing is served (the importer).
    buckets: Buckets | None = None
    # The token endpoint's failure counts and secret-check queue (embedded issuer only).
    throttle: TokenThrottle | None = None
    # The audit events of operations that wrote nothing, committed in batches (db/audit.py);
    # None: each operation appends its own (the importer).
    group_commit: GroupCommit | None = None

    async def close(self) -> None:
        """What the app's lifespan ends with (and the tests that serve without one)."""
        if self.group_commit is not None:
            await self.group_commit.close()
        await self.database.dispose()
        if self.buckets is not None:
            await self.buckets.close()
        if self.throttle is not None:
            await self.throttle.close()
