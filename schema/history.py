"""A judgment's history as the API shows it: earlier versions and seal events.

Read under `judgment:read` of the judgment as it is now (DESIGN.md §1.2: corrections keep
the previous version, who, when and why; §1.4: every sealing and unsealing is an event).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import strawberry
from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from strawberry.types import Info

from db.models import Judgment, JudgmentVersion, Offender
from policies.actions import Action
from schema.agencies import AgencyNode
from schema.context import Context
from schema.fields import authorized
from schema.pagination import (
    PageInfo,
    Window,
    connection_of,
    encode_tagged_cursor,
    number_cursor,
)
from schema.records import CrimeNode, PartOf, PenaltyNode, SealStatus

# A version's cursor holds its version number (unique per judgment), under a tag of its own.
VERSION_TAG = "jv"
VERSION_CURSOR = number_cursor(VERSION_TAG)


class AsRecorded(PartOf):
    """Part of a judgment as an earlier version recorded it: shown from the snapshot,
    decided as the judgment it belongs to now (the history is read under judgment:read)."""

    def __init__(self, current: Judgment, recorded: Judgment, value: Any = None) -> None:
        super().__init__(recorded, value)
        self.current = current

    def authz_resource(self) -> Judgment:
        return self.current


def recorded(part: PartOf) -> Judgment:
    """The judgment as a version recorded it (`part` is PartOf(the judgment now, its
    JudgmentVersion row)): a transient Judgment, never added to the session, so that the
    `Penalty` and `Crime` types show it as they show the current one."""
    cached: Judgment | None = getattr(part, "_recorded", None)
    if cached is not None:
        return cached
    was, now = part.value.snapshot, part.judgment
    penalty = was["penalty"]
    judgment = Judgment(
        offender_id=now.offender_id, court_agency_id=now.court_agency_id,
        authority_agency_id=was["authority_agency_id"], judgment_number=was["judgment_number"],
        prosecutor=was["prosecutor"], judgment_date=date.fromisoformat(was["judgment_date"]),
        effective_date=date.fromisoformat(was["effective_date"]),
        offense_date=date.fromisoformat(was["offense_date"]),
        age_at_offense=was["age_at_offense"], region=was["region"], crimes=list(was["crimes"]),
        penalty_kind=penalty["kind"], term_months=penalty["term_months"],
        probation_months=penalty["probation_months"],
        supplementary=list(penalty["supplementary"]), fine_amount=penalty["fine_amount"],
        verdict=was["verdict"], seal_status=was["seal_status"], seal_reason=was["seal_reason"],
        version=part.value.version)
    part._recorded = judgment  # type: ignore[attr-defined]
    return judgment


@dataclass
class DefendantView:
    """The person as a version recorded them, shown to those who may read the person now."""

    offender: Offender
    recorded: dict[str, Any]

    def authz_resource(self) -> Offender:
        return self.offender


@strawberry.type(name="DefendantSnapshot", description=(
    "The defendant's particulars as a version of a judgment recorded them."))
class DefendantSnapshotNode:
    @authorized(Action.OFFENDER_READ)
    def name(self: DefendantView) -> str:  # type: ignore[misc]
        return str(self.recorded["name"])

    @authorized(Action.OFFENDER_READ)
    def birth_date(self: DefendantView) -> date:  # type: ignore[misc]
        return date.fromisoformat(self.recorded["birth_date"])

    @authorized(Action.OFFENDER_READ)
    def gender(self: DefendantView) -> str | None:  # type: ignore[misc]
        return self.recorded.get("gender")

    @authorized(Action.OFFENDER_READ)
    def residence_region(self: DefendantView) -> str:  # type: ignore[misc]
        return str(self.recorded["residence_region"])


@strawberry.type(name="JudgmentVersion", description=(
    "A judgment as it stood before a correction: who corrected it, when and why."))
class JudgmentVersionNode:
    """The judgment as it was before a correction (`version`), and who corrected it, when
    and why. `self` is PartOf(the judgment now, its JudgmentVersion row)."""

    @authorized(Action.JUDGMENT_READ)
    def version(self: PartOf) -> int:  # type: ignore[misc]
        return int(self.value.version)

    @authorized(Action.JUDGMENT_READ)
    def corrected_at(self: PartOf) -> datetime:  # type: ignore[misc]
        return self.value.at  # type: ignore[no-any-return]

    @authorized(Action.JUDGMENT_READ)
    def corrected_by(self: PartOf) -> str:  # type: ignore[misc]
        return str(self.value.corrected_by)

    @authorized(Action.JUDGMENT_READ)
    async def corrected_by_agency(self: PartOf, info: Info[Context, None]  # type: ignore[misc]
                                  ) -> AgencyNode | None:
        agency_id = self.value.corrected_by_agency_id
        return None if agency_id is None else await info.context.loaders.agency.load(  # type: ignore[return-value]
            agency_id)

    @authorized(Action.JUDGMENT_READ)
    def reason(self: PartOf) -> str:  # type: ignore[misc]
        return str(self.value.reason)

    @authorized(Action.JUDGMENT_READ)
    def retrial(self: PartOf) -> bool:  # type: ignore[misc]
        return bool(self.value.retrial)

    @authorized(Action.JUDGMENT_READ)
    def judgment_date(self: PartOf) -> date:  # type: ignore[misc]
        return recorded(self).judgment_date

    @authorized(Action.JUDGMENT_READ)
    def effective_date(self: PartOf) -> date:  # type: ignore[misc]
        return recorded(self).effective_date

    @authorized(Action.JUDGMENT_READ)
    def offense_date(self: PartOf) -> date:  # type: ignore[misc]
        return recorded(self).offense_date

    @authorized(Action.JUDGMENT_READ)
    def age_at_offense(self: PartOf) -> int:  # type: ignore[misc]
        return recorded(self).age_at_offense

    @authorized(Action.JUDGMENT_READ)
    def crimes(self: PartOf) -> list[CrimeNode]:  # type: ignore[misc]
        was = recorded(self)
        return [AsRecorded(self.judgment, was, c) for c in was.crimes]  # type: ignore[misc]

    @authorized(Action.JUDGMENT_READ)
    def penalty(self: PartOf) -> PenaltyNode:  # type: ignore[misc]
        return AsRecorded(self.judgment, recorded(self))  # type: ignore[return-value]

    @authorized(Action.JUDGMENT_READ)
    def seal_status(self: PartOf) -> SealStatus:  # type: ignore[misc]
        return SealStatus(recorded(self).seal_status)

    @authorized(Action.JUDGMENT_READ)
    async def defendant(self: PartOf, info: Info[Context, None]  # type: ignore[misc]
                        ) -> DefendantSnapshotNode | None:
        """The person's basic information as this version recorded it; `null` where the
        requester may not read the person (offender:read), as `Judgment.offender` is."""
        ctx = info.context
        offender = await ctx.loaders.offender.load(self.judgment.offender_id)
        if offender is None or not ctx.authz.check_object(Action.OFFENDER_READ, offender):
            return None
        return DefendantView(offender, self.value.snapshot["defendant"])  # type: ignore[return-value]


@strawberry.type(name="SealEvent", description=(
    "A change of a judgment's seal status and its reason."))
class SealEventNode:
    """A sealing or unsealing of the judgment, with its reason (DESIGN.md §1.4)."""

    @authorized(Action.JUDGMENT_READ)
    def status(self: PartOf) -> SealStatus:  # type: ignore[misc]
        return SealStatus(self.value.status)

    @authorized(Action.JUDGMENT_READ)
    def reason(self: PartOf) -> str:  # type: ignore[misc]
        return str(self.value.reason)

    @authorized(Action.JUDGMENT_READ)
    def at(self: PartOf) -> datetime:  # type: ignore[misc]
        return self.value.at  # type: ignore[no-any-return]


@strawberry.type(name="JudgmentVersionEdge", description=(
    "An earlier version of a judgment in a page, with its cursor."))
class JudgmentVersionEdge:
    cursor: str
    node: JudgmentVersionNode = authorized(Action.JUDGMENT_READ, target="value")


@strawberry.type(name="JudgmentVersionConnection", description=(
    "A page of a judgment's earlier versions, oldest first (Relay connection)."))
class JudgmentVersionConnection:
    edges: list[JudgmentVersionEdge]
    page_info: PageInfo
    total_count: int


def _version_cursor(part: PartOf) -> str:
    return encode_tagged_cursor(VERSION_TAG, int(part.value.version))


async def history_page(ctx: Context, judgment: Any, page: Window, counted: bool
                       ) -> JudgmentVersionConnection:
    """A page of `judgment`'s history (the judgment as the field's parent has it: read in an
    inquiry's context where an inquiry disclosed it). The pages asked for under a page of
    judgments are read together (`_version_pages`)."""
    loader = ctx.loaders.named("judgment_history", lambda keys: _version_pages(ctx, keys))
    rows, total = await loader.load((judgment.id, page, counted))
    return connection_of(JudgmentVersionEdge, JudgmentVersionConnection,
                         [PartOf(judgment, row) for row in rows], total, page.size,
                         page.backward, cursor=_version_cursor)


async def _version_pages(ctx: Context, keys: Sequence[tuple[int, Window, bool]]
                         ) -> list[tuple[list[JudgmentVersion], int | None]]:
    """Per (judgment id, page, counted): up to page.size + 1 versions in the order of paging,
    and their number when counted. One statement per distinct page asked (and one count),
    whatever the number of judgments: keyset on the version, ranked per judgment."""
    answers: dict[tuple[int, Window, bool], tuple[list[JudgmentVersion], int | None]] = {}
    for page, counted in {(k[1], k[2]) for k in keys}:
        ids = [k[0] for k in keys if (k[1], k[2]) == (page, counted)]
        totals: dict[int, int] = {}
        if counted:
            found = await ctx.execute(
                select(col(JudgmentVersion.judgment_id), func.count())
                .where(col(JudgmentVersion.judgment_id).in_(ids))
                .group_by(col(JudgmentVersion.judgment_id)))
            counts: Sequence[Any] = found.all()
            totals = {int(i): int(n) for i, n in counts}
        where = [col(JudgmentVersion.judgment_id).in_(ids)]
        if page.after is not None:
            where.append(col(JudgmentVersion.version) > page.after)
        if page.before is not None:
            where.append(col(JudgmentVersion.version) < page.before)
        order = col(JudgmentVersion.version).desc() if page.backward \
            else col(JudgmentVersion.version)
        ranked = select(JudgmentVersion, func.row_number().over(
            partition_by=col(JudgmentVersion.judgment_id), order_by=order
        ).label("rank")).where(*where).subquery()
        version = aliased(JudgmentVersion, ranked)
        rows = await ctx.scalars(select(version).where(ranked.c.rank <= page.size + 1)
                                 .order_by(ranked.c.judgment_id, ranked.c.rank))
        per_judgment: dict[int, list[JudgmentVersion]] = {i: [] for i in ids}
        for row in rows:
            per_judgment[row.judgment_id].append(row)
        for judgment_id, versions in per_judgment.items():
            answers[(judgment_id, page, counted)] = (
                versions, totals.get(judgment_id, 0) if counted else None)
    return [answers[k] for k in keys]
