"""Judgments and offenders as the API shows them: types, connections, list queries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import strawberry
from sqlalchemy import ColumnElement, Select, func
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from strawberry.types import Info

from db.models import (
    Agency,
    ExecutionEvent,
    Judgment,
    JudgmentTally,
    Offender,
    SealEvent,
)
from db.queries.visibility import visibility_clause
from policies.actions import Action
from policies.attributes import (
    judgment_visibility_combinations,
    offender_visibility_combinations,
)
from schema.agencies import AgencyNode
from schema.authz import Disclosed, read_alike
from schema.context import Context
from schema.detentions import DetentionNode, detentions_of
from schema.fields import authorized
from schema.loaders import settled
from schema.node import Node
from schema.pagination import (
    After,
    Before,
    First,
    Last,
    PageInfo,
    Window,
    asks_for_total,
    connection_of,
    fetch_page,
    window,
)

if TYPE_CHECKING:
    from schema.history import JudgmentVersionConnection, SealEventNode

T = TypeVar("T")


@strawberry.enum(description=(
    "Whether a judgment is open or sealed (a juvenile record, DESIGN §1.4): a sealed one "
    "exists only for those entitled to it."))
class SealStatus(Enum):
    OPEN = "open"
    SEALED = "sealed"


@strawberry.enum(description=(
    "The principal penalty of a judgment, from exemption to death."))
class PenaltyKind(Enum):
    EXEMPTED = "EXEMPTED"
    SUPPLEMENTARY_ONLY = "SUPPLEMENTARY_ONLY"
    PUBLIC_SURVEILLANCE = "PUBLIC_SURVEILLANCE"
    CRIMINAL_DETENTION = "CRIMINAL_DETENTION"
    FIXED_TERM_IMPRISONMENT = "FIXED_TERM_IMPRISONMENT"
    LIFE_IMPRISONMENT = "LIFE_IMPRISONMENT"
    DEATH_WITH_REPRIEVE = "DEATH_WITH_REPRIEVE"
    DEATH = "DEATH"


class PartOf:
    """A view of part of a judgment (a crime, its penalty, an execution event)."""

    def __init__(self, judgment: Judgment, value: Any) -> None:
        self.judgment = judgment
        self.value = value

    def authz_resource(self) -> Judgment:
        return self.judgment


@strawberry.type(name="Crime", description=(
    "A crime a judgment convicted of, with its statute article."))
class CrimeNode:
    @authorized(Action.JUDGMENT_READ)
    def name(self: PartOf) -> str:  # type: ignore[misc]
        return str(self.value["name"])

    @authorized(Action.JUDGMENT_READ)
    def article(self: PartOf) -> str | None:  # type: ignore[misc]
        article = self.value.get("article")
        return None if article is None else str(article)


@strawberry.type(name="Penalty", description=(
    "The penalty a judgment imposed: its kind, terms in months, supplementary penalties and"
    " fine."))
class PenaltyNode:
    @authorized(Action.JUDGMENT_READ)
    def kind(self: PartOf) -> PenaltyKind:  # type: ignore[misc]
        return PenaltyKind(self.judgment.penalty_kind)

    @authorized(Action.JUDGMENT_READ)
    def term_months(self: PartOf) -> int | None:  # type: ignore[misc]
        return self.judgment.term_months

    @authorized(Action.JUDGMENT_READ)
    def probation_months(self: PartOf) -> int | None:  # type: ignore[misc]
        return self.judgment.probation_months

    @authorized(Action.JUDGMENT_READ)
    def supplementary(self: PartOf) -> list[str]:  # type: ignore[misc]
        return list(self.judgment.supplementary or [])

    @authorized(Action.JUDGMENT_READ)
    def fine_amount(self: PartOf) -> str | None:  # type: ignore[misc]
        return self.judgment.fine_amount


@strawberry.type(name="ExecutionEvent", description=(
    "An event in the execution of a judgment's penalty, reported by the executing agency."))
class ExecutionEventNode:
    @authorized(Action.JUDGMENT_READ, description=(
        "RELEASED or CORRECTION_EXPIRED (a String: CONTRACT.md §4 fixes the type)."))
    def kind(self: PartOf) -> str:  # type: ignore[misc]
        return str(self.value.kind)

    @authorized(Action.JUDGMENT_READ)
    def date(self: PartOf) -> date:  # type: ignore[misc]
        return self.value.date  # type: ignore[no-any-return]


@strawberry.type(name="Judgment", description=(
    "An effective criminal judgment as the court reported it, with the corrections made "
    "since."))
class JudgmentNode(Node):
    @authorized(Action.JUDGMENT_READ)
    def id(self: Judgment) -> strawberry.ID:  # type: ignore[misc]
        return strawberry.ID(self.public_id)

    @authorized(Action.JUDGMENT_READ)
    def judgment_number(self: Judgment) -> str:  # type: ignore[misc]
        return self.judgment_number

    @authorized(Action.JUDGMENT_READ)
    def court(self: Judgment, info: Info[Context, None]) -> AgencyNode:  # type: ignore[misc]
        # At once when the page's statement brought it (fetch_page's `related`).
        return settled(info.context.loaders.agency,  # type: ignore[no-any-return]
                       self.court_agency_id)

    @authorized(Action.JUDGMENT_READ)
    def prosecutor(self: Judgment) -> str:  # type: ignore[misc]
        return self.prosecutor

    @authorized(Action.JUDGMENT_READ)
    def judgment_date(self: Judgment) -> date:  # type: ignore[misc]
        return self.judgment_date

    @authorized(Action.JUDGMENT_READ)
    def effective_date(self: Judgment) -> date:  # type: ignore[misc]
        return self.effective_date

    @authorized(Action.JUDGMENT_READ)
    def offense_date(self: Judgment) -> date:  # type: ignore[misc]
        return self.offense_date

    @authorized(Action.JUDGMENT_READ)
    def age_at_offense(self: Judgment) -> int:  # type: ignore[misc]
        return self.age_at_offense

    @authorized(Action.JUDGMENT_READ)
    def crimes(self: Judgment) -> list[CrimeNode]:  # type: ignore[misc]
        return [PartOf(self, c) for c in self.crimes or []]  # type: ignore[misc]

    @authorized(Action.JUDGMENT_READ)
    def penalty(self: Judgment) -> PenaltyNode:  # type: ignore[misc]
        return PartOf(self, None)  # type: ignore[return-value]

    @authorized(Action.JUDGMENT_READ)
    async def execution(self: Judgment, info: Info[Context, None]  # type: ignore[misc]
                        ) -> list[ExecutionEventNode]:
        events: list[ExecutionEvent] = await info.context.loaders.executions.load(
            cast(int, self.id))
        return [PartOf(self, e) for e in events]  # type: ignore[misc]

    @authorized(Action.JUDGMENT_READ)
    def seal_status(self: Judgment) -> SealStatus:  # type: ignore[misc]
        return SealStatus(self.seal_status)

    @authorized(Action.JUDGMENT_READ)
    def offender(self: Judgment, info: Info[Context, None]  # type: ignore[misc]
                 ) -> OffenderNode:
        # A judgment an inquiry disclosed: its person is read in the inquiry's context too.
        return settled(info.context.loaders.offender,  # type: ignore[no-any-return]
                       self.offender_id, lambda found: read_alike(self, found))

    @authorized(Action.JUDGMENT_READ, description=(
        "The judgment as it stood before each correction, oldest first, with who corrected "
        "it, when and why (a connection)."))
    async def history(self: Judgment, info: Info[Context, None],  # type: ignore[misc]
                      first: First = 20,
                      after: After = None,
                      last: Last = None,
                      before: Before = None
                      ) -> Annotated[JudgmentVersionConnection,
                                     strawberry.lazy("schema.history")]:
        """The judgment as it was before each correction, oldest first, with who corrected
        it, when and why (DESIGN.md §1.2). A page of judgments reads the pages of all their
        histories in one statement (and one more for totalCount, when asked)."""
        from schema.history import VERSION_CURSOR, history_page
        page = window(info, first, after, last, before, info.context.max_page_size,
                      decode=VERSION_CURSOR)
        return await history_page(info.context, self, page, asks_for_total(info))

    @authorized(Action.JUDGMENT_READ)
    async def seal_events(self: Judgment, info: Info[Context, None]  # type: ignore[misc]
                          ) -> list[Annotated[SealEventNode,
                                              strawberry.lazy("schema.history")]]:
        """Every sealing and unsealing of the judgment, oldest first, with its reason
        (DESIGN.md §1.4)."""
        ctx = info.context
        rows = await ctx.loaders.named(
            "judgment_seal_events", lambda ids: _of_judgments(ctx, SealEvent, ids,
                                                              col(SealEvent.id))
        ).load(self.id)
        return [PartOf(self, row) for row in rows]  # type: ignore[misc]


async def _of_judgments(ctx: Context, model: Any, judgment_ids: Sequence[int],
                        order: Any) -> list[list[Any]]:
    """Rows of `model` per judgment id, for a whole page of judgments in one query."""
    rows = await ctx.scalars(select(model).where(col(model.judgment_id).in_(judgment_ids))
                             .order_by(order))
    grouped: dict[int, list[Any]] = {i: [] for i in judgment_ids}
    for row in rows:
        grouped[row.judgment_id].append(row)
    return [grouped[i] for i in judgment_ids]


@strawberry.type(name="JudgmentEdge", description=(
    "A judgment in a page, with its cursor."))
class JudgmentEdge:
    cursor: str
    node: JudgmentNode = authorized(Action.JUDGMENT_READ, target="value")


@strawberry.type(name="JudgmentConnection", description=(
    "A page of judgments the requester may see (Relay connection)."))
class JudgmentConnection:
    edges: list[JudgmentEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(name="Offender", description=(
    "A person with a criminal record."))
class OffenderNode(Node):
    @authorized(Action.OFFENDER_READ)
    def id(self: Offender) -> strawberry.ID:  # type: ignore[misc]
        return strawberry.ID(self.public_id)

    @authorized(Action.OFFENDER_READ)
    def name(self: Offender) -> str:  # type: ignore[misc]
        return self.name

    @authorized(Action.OFFENDER_READ)
    def id_number(self: Offender) -> str | None:  # type: ignore[misc]
        return self.id_number

    @authorized(Action.OFFENDER_READ)
    def birth_date(self: Offender) -> date | None:  # type: ignore[misc]
        return self.birth_date

    @authorized(Action.OFFENDER_READ, description="As the reporting agency wrote it (free "
                "text, up to 16 characters).")
    def gender(self: Offender) -> str | None:  # type: ignore[misc]
        return self.gender

    @authorized(Action.OFFENDER_READ)
    def residence_region(self: Offender) -> str:  # type: ignore[misc]
        return self.residence_region

    @authorized(Action.OFFENDER_READ)
    async def judgments(self: Offender, info: Info[Context, None],  # type: ignore[misc]
                        first: First = 20,
                        after: After = None,
                        last: Last = None,
                        before: Before = None) -> JudgmentConnection:
        ctx = info.context
        page = window(info, first, after, last, before, ctx.max_page_size)
        if isinstance(self, Disclosed):
            return await _disclosed_judgments(ctx, self, page)
        loader = ctx.loaders.named("offender_judgments",
                                   lambda keys: _offender_judgments(ctx, keys))
        return await loader.load((self.id, page))  # type: ignore[no-any-return]

    @authorized(Action.OFFENDER_READ)
    async def detentions(self: Offender, info: Info[Context, None]  # type: ignore[misc]
                         ) -> list[DetentionNode]:
        # A plain list, not a connection: CONTRACT.md §4 fixes `detentions: [Detention!]!`.
        """Never part of the criminal record; each row is decided on its own (a sealed
        administrative detention is absent unless the requester handles a case). Reached
        through an inquiry's records: the detention records that inquiry disclosed."""
        if isinstance(self, Disclosed):
            disclosed = await self.disclosed_by.readable(info.context, "detention")
            return [d for d in disclosed  # type: ignore[misc]
                    if d.detention.id_number == self.id_number]
        return await detentions_of(info.context, self.id_number)  # type: ignore[return-value]


@strawberry.type(name="OffenderEdge", description=(
    "An offender in a page, with its cursor."))
class OffenderEdge:
    cursor: str
    node: OffenderNode = authorized(Action.OFFENDER_READ, target="value")


@strawberry.type(name="OffenderConnection", description=(
    "A page of offenders the requester may see (Relay connection)."))
class OffenderConnection:
    edges: list[OffenderEdge]
    page_info: PageInfo
    total_count: int


def _judgment_visibility(ctx: Context, table: Any = Judgment) -> ColumnElement[bool]:
    """The judgments the requester may list, as a filter on `table`: `judgment`, or
    `judgment_tally`, which has the same three attribute columns."""
    combos = ctx.authz.visible(Action.JUDGMENT_LIST, judgment_visibility_combinations(),
                               "judgment")
    division = ctx.authz.subject.get("region")
    return _clause((table, division, *(tuple(c.items()) for c in combos)), lambda: (
        visibility_clause(
            combos, {"seal_status": col(table.seal_status), "verdict": col(table.verdict)},
            region_column=col(table.region), requester_division=division,
            constants={"type": "judgment", "record_kind": "judgment"})))


# The WHERE clauses built for the allowed combinations, by what they were built from: an
# expression is immutable and serves any number of statements, and building one anew cost
# a tenth of a page's time. Bounded: past the limit it starts afresh.
_CLAUSES: dict[tuple[Any, ...], ColumnElement[bool]] = {}
_CLAUSES_LIMIT = 4096


def _clause(key: tuple[Any, ...], build: Callable[[], ColumnElement[bool]]
            ) -> ColumnElement[bool]:
    clause = _CLAUSES.get(key)
    if clause is None:
        if len(_CLAUSES) >= _CLAUSES_LIMIT:
            _CLAUSES.clear()
        clause = _CLAUSES[key] = build()
    return clause


def _judgment_tally(ctx: Context, kept: Sequence[ColumnElement[bool]]) -> Select[Any]:
    """The number of judgments the requester may list (and `kept` lets through), summed
    from `judgment_tally` (kept by the database with every change of a judgment,
    db/models/records.py): the same filter over the same attributes, a few rows to read
    however many judgments there are."""
    return select(func.coalesce(func.sum(JudgmentTally.n), 0)).where(
        _judgment_visibility(ctx, JudgmentTally), *kept)


def _offender_visibility(ctx: Context) -> ColumnElement[bool]:
    combos = ctx.authz.visible(Action.OFFENDER_LIST, offender_visibility_combinations(),
                               "offender")
    division = ctx.authz.subject.get("region")
    return _clause((Offender, division, *(tuple(c.items()) for c in combos)), lambda: (
        visibility_clause(combos, {}, region_column=col(Offender.residence_region),
                          requester_division=division,
                          constants={"type": "offender", "seal_status": "open",
                                     "record_kind": "offender"})))


async def list_judgments(ctx: Context, where: Sequence[ColumnElement[bool]],
                         page: Window, *, counted: bool = True,
                         kept: Sequence[ColumnElement[bool]] | None = None
                         ) -> JudgmentConnection:
    """`kept`: the filters `where` as filters of judgment_tally, when they all have one (then
    `totalCount` sums kept counts); None counts the rows (a person's: a few)."""
    tally = _judgment_tally(ctx, kept) if counted and kept is not None else None
    related = (("offender_id", Offender, ctx.loaders.offender),
               ("court_agency_id", Agency, ctx.loaders.agency))
    return await _list(ctx, Judgment, _judgment_visibility, Action.JUDGMENT_READ, JudgmentEdge,
                       JudgmentConnection, where, page, counted, tally, related)


async def _offender_judgments(ctx: Context, keys: Sequence[tuple[int, Window]]
                              ) -> list[JudgmentConnection]:
    """`Offender.judgments` for a whole page of offenders: two queries, not two per offender."""
    visible = _judgment_visibility(ctx)
    answers: dict[tuple[int, Window], JudgmentConnection] = {}
    for page in {k[1] for k in keys}:
        size = page.size
        ids = [k[0] for k in keys if k[1] == page]
        where = [visible, col(Judgment.offender_id).in_(ids)]
        counted = await ctx.execute(select(Judgment.offender_id, func.count()).where(*where)
                                    .group_by(col(Judgment.offender_id)))
        count_rows: Sequence[Any] = counted.all()
        totals: dict[int, int] = {int(oid): int(n) for oid, n in count_rows}
        if page.after is not None:
            where.append(col(Judgment.public_id) > page.after)
        if page.before is not None:
            where.append(col(Judgment.public_id) < page.before)
        order = col(Judgment.public_id).desc() if page.backward else col(Judgment.public_id)
        ranked = select(Judgment, func.row_number().over(
            partition_by=col(Judgment.offender_id), order_by=order
        ).label("rank")).where(*where).subquery()
        judgment = aliased(Judgment, ranked)
        rows = await ctx.scalars(select(judgment).where(ranked.c.rank <= size + 1)
                                 .order_by(ranked.c.offender_id, ranked.c.rank))
        per_offender: dict[int, list[Judgment]] = {i: [] for i in ids}
        for row in rows:
            per_offender[row.offender_id].append(row)
        for offender_id, ranked_rows in per_offender.items():
            found = ctx.authz.page(Action.JUDGMENT_READ, ranked_rows, size)
            answers[(offender_id, page)] = connection_of(
                JudgmentEdge, JudgmentConnection, found, totals.get(offender_id, 0), size,
                page.backward)
    return [answers[k] for k in keys]


async def _disclosed_judgments(ctx: Context, offender: Disclosed, page: Window
                               ) -> JudgmentConnection:
    """`Offender.judgments` of a person an inquiry disclosed: the judgments of the person
    that the inquiry disclosed and the reader may read in its context, paged as any list
    (they are few, and already in hand: no query)."""
    disclosed = await offender.disclosed_by.readable(ctx, "judgment")
    # Ordered and cut here, alike (a database's collation may order ids otherwise).
    rows = sorted((d for d in disclosed if d.offender_id == offender.id),
                  key=lambda d: str(d.public_id))
    between = [d for d in rows if (page.after is None or d.public_id > page.after)
               and (page.before is None or d.public_id < page.before)]
    if page.backward:
        between.reverse()
    return connection_of(JudgmentEdge, JudgmentConnection, between[:page.size + 1], len(rows),
                         page.size, page.backward)


async def list_offenders(ctx: Context, where: Sequence[ColumnElement[bool]],
                         page: Window, *, counted: bool = True) -> OffenderConnection:
    return await _list(ctx, Offender, _offender_visibility, Action.OFFENDER_READ, OffenderEdge,
                       OffenderConnection, where, page, counted, None, ())


async def _list(ctx: Context, model: Any, visibility: Callable[[Context], ColumnElement[bool]],
                action: str, edge: type[Any], connection: type[T],
                where: Sequence[ColumnElement[bool]], page: Window, counted: bool,
                count: Select[Any] | None,
                related: Sequence[tuple[str, Any, Any]]) -> T:
    """A page of visible rows: filtered in SQL, each row decided again (fail-safe)."""
    rows, total = await fetch_page(ctx, model, [visibility(ctx), *where], page.size,
                                   page.after, counted=counted, count=count,
                                   before=page.before, backward=page.backward,
                                   related=related)
    rows = ctx.authz.page(action, rows, page.size)
    return connection_of(edge, connection, rows, total, page.size, page.backward)
