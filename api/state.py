"""What the app factory builds once and every request shares (no module-level globals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import strawberry

from api.auth import TokenVerifier
from api.issuer import Issuer
from api.settings import Settings
from api.token_throttle import TokenThrottle
from db.audit import AuditChain
from db.engine import Database
from policies.store import PolicyStore

if TYPE_CHECKING:
    from api.context import AgencyDirectory


@dataclass
class AppState:
    settings: Settings
    database: Database
    schema: strawberry.Schema
    policies: PolicyStore
    audit: AuditChain
    issuer: Issuer | None
    # None where no request is served: the bulk importer verifies no token.
    verifier: TokenVerifier | None
    agencies: AgencyDirectory
    # The token endpoint's failure counts and secret-check queue (embedded issuer only).
    throttle: TokenThrottle | None = None
