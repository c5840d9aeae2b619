"""Builds the typed request context (schema/context.py) from the request's principal."""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import object_session
from sqlmodel import col, select

from api.auth import Principal
from api.state import AppState
from db.models import Agency
from policies.attributes import subject_attributes
from schema.authz import Authorizer
from schema.context import Context, Requester


class AgencyDirectory:
    """The requesters' agencies, each read from the table at most once per `ttl` seconds.

    The same window as the policy store's: what one process learns of an edit, every process
    learns within it. Bounded: past `limit` codes the directory starts afresh.
    """

    def __init__(self, ttl: float, limit: int = 10_000) -> None:
        self._ttl = ttl
        self._limit = limit
        self._entries: dict[str, tuple[float, Agency | None]] = {}
        # principal -> (the agency row it was worked out with, its subject attributes)
        self._subjects: dict[Principal, tuple[Agency | None, Mapping[str, Any]]] = {}

    async def get(self, session: AsyncSession, code: str) -> Agency | None:
        now = time.monotonic()
        entry = self._entries.get(code)
        if entry is not None and now - entry[0] < self._ttl:
            return entry[1]
        agency = await session.scalar(select(Agency).where(col(Agency.code) == code))
        owner = object_session(agency) if agency is not None else None
        if owner is not None:
            # Out of the session before another request reads it: a rollback of this one
            # would expire it, and every request of the agency would then fail to read it.
            owner.expunge(agency)
        if len(self._entries) >= self._limit:
            self._entries.clear()
        self._entries[code] = (now, agency)
        return agency

    def subject(self, principal: Principal, agency: Agency | None) -> Mapping[str, Any]:
        """The requester's policy attributes, worked out once per principal and agency row
        (a token's many requests share them; a refreshed agency row works them out anew).
        Read-only: every request of the principal is handed the same mapping."""
        known = self._subjects.get(principal)
        if known is not None and known[0] is agency:
            return known[1]
        subject = MappingProxyType(subject_attributes(
            sub=principal.sub, role=principal.role, agency=agency,
            id_number=principal.id_number, scopes=principal.scopes))
        if len(self._subjects) >= self._limit:
            self._subjects.clear()
        self._subjects[principal] = (agency, subject)
        return subject


async def context_for(state: AppState, principal: Principal, request_id: str,
                      session: AsyncSession) -> Context:
    """The context of one operation by `principal` (an HTTP request, or a line of a bulk
    import run by the CLI)."""
    # Before this request takes a connection: the policy store's poll needs one of its own,
    # and requests holding every pooled connection while they wait for it would deadlock.
    decision_point = None if state.settings.authz_disabled else await state.policies.current()
    # The agency's kind and region come from the registry, never from the token.
    agency = await state.agencies.get(session, principal.agency) if principal.agency else None
    subject = state.agencies.subject(principal, agency)
    requester = Requester(sub=principal.sub, role=principal.role,
                          agency_code=agency.code if agency else None,
                          client_id=principal.client_id, authenticated=principal.authenticated)
    return Context(request_id=request_id, requester=requester, session=session,
                   authz=Authorizer(decision_point, subject),
                   max_page_size=state.settings.max_page_size,
                   production=state.settings.production,
                   deadlines=state.settings.deadlines,
                   policy_approvers=state.settings.approvers_needed)
