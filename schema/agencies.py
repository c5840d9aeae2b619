"""Agencies (directory data) and the requester's own `me`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.types import Info

from db.models import Agency
from policies.actions import Action
from schema.errors import Forbidden
from schema.fields import authorized

if TYPE_CHECKING:
    from schema.context import Requester


@strawberry.type(name="Agency", description=(
    "An agency from the registry's agency table."))
class AgencyNode:
    @authorized(Action.AGENCY_READ)
    def code(self: Agency) -> str:  # type: ignore[misc]
        return self.code

    @authorized(Action.AGENCY_READ, description=(
        "COURT, PROCURATORATE, PUBLIC_SECURITY, STATE_SECURITY, JUDICIAL_ADMINISTRATION, "
        "PRISON, DETENTION_CENTER, REGISTRATION_AUTHORITY, LAW_FIRM, EMPLOYER, MILITARY or "
        "SCHOOL (a String: CONTRACT.md §4 fixes the type)."))
    def kind(self: Agency) -> str:  # type: ignore[misc]
        return self.kind

    @authorized(Action.AGENCY_READ)
    def name(self: Agency) -> str:  # type: ignore[misc]
        return self.name

    @authorized(Action.AGENCY_READ, description="A 6-digit administrative division code.")
    def region(self: Agency) -> str:  # type: ignore[misc]
        return self.region


AGENCY_DETAILS = ("The agency `agency` names, from the agency table as it is now; null "
                  "when none (or not readable, like a missing one).")


def agency_details(code_of: Callable[[Any], str | None]) -> Callable[..., Any]:
    """A resolver for the `agencyDetails` object beside a field that gives an agency's code
    (issue 14: an agency is an object wherever the schema names one)."""
    async def resolve(self: Any, info: Info) -> AgencyNode | None:
        code = code_of(self)
        if not code:
            return None
        agency = await info.context.loaders.agency_by_code.load(code)
        if agency is None or not info.context.authz.check_object(Action.AGENCY_READ, agency):
            return None
        return agency  # type: ignore[no-any-return]
    return resolve


class SubjectView:
    """The requester as the API shows them to themselves."""

    def __init__(self, requester: Requester) -> None:
        self.requester = requester
        # One mapping for the view's life: the authorizer remembers a decision per resource
        # object, so `me` and each of its fields ask the policies once between them.
        self._resource = {"type": "subject", "id": requester.sub}

    def authz_resource(self) -> dict[str, Any]:
        return self._resource


@strawberry.type(name="Subject", description=(
    "The requester: the token's subject, with their agency from the agency table."))
class SubjectNode:
    @authorized(Action.ME_READ)
    def sub(self: SubjectView) -> str:  # type: ignore[misc]
        return self.requester.sub

    @authorized(Action.ME_READ, description=(
        "The token's role, one of CONTRACT.md §3: registry_clerk, judge, prosecutor, "
        "police_officer, state_security_officer, judicial_admin_officer, prison_officer, "
        "defense_lawyer, employer, recruiter, school, individual, auditor, security_admin "
        "(a String: CONTRACT.md §4 fixes the type)."))
    def role(self: SubjectView) -> str:  # type: ignore[misc]
        return self.requester.role

    @authorized(Action.ME_READ)
    async def agency(self: SubjectView, info: Info) -> AgencyNode | None:  # type: ignore[misc]
        if self.requester.agency_code is None:
            return None
        agency = await info.context.loaders.agency_by_code.load(self.requester.agency_code)
        if agency is None or not info.context.authz.check_object(Action.AGENCY_READ, agency):
            return None
        return agency  # type: ignore[no-any-return]


def resolve_me(info: Info) -> SubjectNode:
    view = SubjectView(info.context.requester)
    if not info.context.authz.check_object(Action.ME_READ, view):
        raise Forbidden()
    return view  # type: ignore[return-value]
