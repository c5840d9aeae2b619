"""Agencies (directory data) and the requester's own `me`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.types import Info

from db.models import Agency
from policies.actions import Action
from schema.fields import authorized

if TYPE_CHECKING:
    from schema.context import Requester


@strawberry.type(name="Agency")
class AgencyNode:
    @authorized(Action.AGENCY_READ)
    def code(self: Agency) -> str:  # type: ignore[misc]
        return self.code

    @authorized(Action.AGENCY_READ)
    def kind(self: Agency) -> str:  # type: ignore[misc]
        return self.kind

    @authorized(Action.AGENCY_READ)
    def name(self: Agency) -> str:  # type: ignore[misc]
        return self.name

    @authorized(Action.AGENCY_READ)
    def region(self: Agency) -> str:  # type: ignore[misc]
        return self.region


class SubjectView:
    """The requester as the API shows them to themselves."""

    def __init__(self, requester: Requester) -> None:
        self.requester = requester

    def authz_resource(self) -> dict[str, Any]:
        return {"type": "subject", "id": self.requester.sub}


@strawberry.type(name="Subject")
class SubjectNode:
    @authorized(Action.ME_READ)
    def sub(self: SubjectView) -> str:  # type: ignore[misc]
        return self.requester.sub

    @authorized(Action.ME_READ)
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
    info.context.authz.require(Action.ME_READ, view.authz_resource())
    return view  # type: ignore[return-value]
