"""The reads and writes of a run of the bulk importer's judgment lines, set-wise (issue 13).

`registry import notices` (api/importer.py) runs every line as its mutation, through
GraphQL, with the resolvers of schema/reporting.py: the reporting rules are theirs alone.
For a run of consecutive `JUDGMENT` lines of a batch, a `ReportBatch` changes only where a
line's statements go:

- Reads. Before the lines run, one statement each reads what they will look up: the
  notices of their idempotency keys (after one statement has locked every key, as
  `_previous` locks its own), the people of their identity numbers, the court's judgments
  of their judgment numbers, and every judgment of those people. A line asks the batch
  (`notices`, `offenders`, `numbers`, `judgments`, `judgments_of`; schema/reporting.py and
  schema/seals.py) what its own statement would have read: what the batch read, updated by
  what the lines before it staged, which is what the database would hold after those
  lines. A key the batch did not read (its line writes it otherwise than validation cleans
  it) is read by the line's own statement, once, and kept.
- Writes. `Context.flush` stages a line's rows instead of flushing them, each new row with
  its id taken at once: from its table's sequence on PostgreSQL (ids a batch takes and
  does not use are a gap, as a rolled back insert leaves one), after the table's highest on
  SQLite (the batch holds the database's write lock). `write` inserts and updates them, in
  line order, one flush a table (an executemany), before the batch's audit events and its
  commit.

No line of the run writes to the database while it runs, so none needs a SAVEPOINT: a line
that fails before it staged anything changed nothing; one that fails after (an unexpected
error halfway through a resolver) cannot roll back alone here, so the importer runs the
whole batch again one transaction per line, as it does when a batch fails to commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Integer, bindparam, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from db.locks import NOTICE_KEYS, key_digest
from db.models import Judgment, Notice, Offender, SealEvent

# A key the batch has not read: the line reads it itself.
MISSING: Any = object()

# The tables whose rows a judgment line writes, the ids it takes for them.
_TABLES: dict[type, str] = {Offender: "offender", Judgment: "judgment", Notice: "notice",
                            SealEvent: "seal_event"}


# The order the tables are written in: each after those its foreign keys reference.
_TIERS = (0, 1, 2)


def _tier(row: Any) -> int:
    return 0 if isinstance(row, Offender) else 1 if isinstance(row, Judgment) else 2


class ReportBatch:
    """What a run of judgment lines of one sender reads and writes (module docstring)."""

    def __init__(self, session: AsyncSession, sender_id: int, lines: int) -> None:
        self._session = session
        self._sender_id = sender_id
        self._chunk = max(16, lines)
        self._sqlite = session.get_bind().dialect.name == "sqlite"
        self._ids: dict[type, list[int]] = {}
        self._top: dict[type, int] = {}
        self.notices: dict[tuple[int, str], Notice | None] = {}
        self.offenders: dict[str, Offender | None] = {}
        self.numbers: dict[tuple[int, str], int | None] = {}
        self.judgments: dict[int, Judgment] = {}
        # A person's judgments as read, by person id; and those the batch staged.
        self._read_of: dict[int, list[Judgment]] = {}
        self._staged_of: dict[int, list[Judgment]] = {}
        self.staged: list[Any] = []
        self._staged_ids: set[int] = set()
        # Rows staged by the line in hand (the importer resets it before each line).
        self.line_staged = 0

    # -- reads ----------------------------------------------------------------------------

    async def read(self, inputs: Sequence[dict[str, Any]]) -> None:
        """Locks the lines' notice keys and reads what they will look up (the raw inputs of
        `reportJudgment`, cleaned as validation cleans them; a value that is no string is
        left to its line, which refuses it)."""
        sid = self._sender_id
        numbers = sorted({n.strip() for i in inputs
                          if isinstance(n := i.get("noticeNumber"), str) and n.strip()})
        people = sorted({n.strip().upper() for i in inputs
                         if isinstance(d := i.get("defendant"), dict)
                         and isinstance(n := d.get("idNumber"), str)})
        judgment_numbers = sorted({n.strip() for i in inputs
                                   if isinstance(n := i.get("judgmentNumber"), str)})
        session = self._session
        if numbers and not self._sqlite:  # SQLite: the batch holds the database's write lock
            keys = sorted({key_digest(f"{sid}:{n}") for n in numbers})
            await session.execute(
                text("SELECT count(pg_advisory_xact_lock(:namespace, k)) FROM "
                     "(SELECT k FROM unnest(:keys) AS k ORDER BY k) AS ordered").bindparams(
                    bindparam("namespace", NOTICE_KEYS, type_=Integer),
                    bindparam("keys", keys, type_=ARRAY(Integer))))
        if numbers:
            found = {n.notice_number: n for n in (await session.scalars(select(Notice).where(
                col(Notice.sender_agency_id) == sid,
                col(Notice.notice_number).in_(numbers)))).all()}
            self.notices.update({(sid, n): found.get(n) for n in numbers})
        if people:
            offenders = {o.id_number: o for o in (await session.scalars(select(Offender).where(
                col(Offender.id_number).in_(people)))).all()}
            self.offenders.update({p: offenders.get(p) for p in people})
            ids = [o.id for o in offenders.values()]
            for person_id in ids:
                self._read_of[person_id or 0] = []
            if ids:
                for judgment in (await session.scalars(select(Judgment).where(
                        col(Judgment.offender_id).in_(ids)).order_by(
                        col(Judgment.offender_id), col(Judgment.id)))).all():
                    self._read_of[judgment.offender_id].append(judgment)
                    self.judgments[judgment.id or 0] = judgment
        if judgment_numbers:
            taken = dict((await session.execute(select(
                col(Judgment.judgment_number), col(Judgment.id)).where(
                col(Judgment.court_agency_id) == sid,
                col(Judgment.judgment_number).in_(judgment_numbers)))).all())
            self.numbers.update({(sid, n): taken.get(n) for n in judgment_numbers})
        wanted = {n.judgment_id for n in self.notices.values()
                  if n is not None and n.judgment_id is not None} - self.judgments.keys()
        if wanted:
            for judgment in (await session.scalars(select(Judgment).where(
                    col(Judgment.id).in_(sorted(wanted))))).all():
                self.judgments[judgment.id or 0] = judgment
        # Out of the session: a line's reads never flush, and only `write` adds rows to it.
        session.expunge_all()

    def judgments_of(self, person_id: int) -> list[Judgment] | Any:
        """The person's judgments as the database holds them after the lines before, or
        MISSING when the batch did not read them."""
        read = self._read_of.get(person_id)
        if read is None:
            return MISSING
        known = {j.id for j in read}
        staged = [j for j in self._staged_of.get(person_id, ()) if j.id not in known]
        return [*read, *staged]

    def kept_judgments(self, person_id: int, rows: Iterable[Judgment]) -> list[Judgment]:
        """A person's judgments its line read itself, kept for the lines after it."""
        read = self._read_of[person_id] = [self._keep(r) for r in rows]
        for judgment in read:
            self.judgments[judgment.id or 0] = judgment
        result = self.judgments_of(person_id)
        assert isinstance(result, list)
        return result

    def keep(self, row: Any) -> Any:
        """A row a line read itself (MISSING in the batch), out of the session."""
        return self._keep(row)

    def _keep(self, row: Any) -> Any:
        if row is not None and row in self._session.sync_session:
            self._session.expunge(row)
        return row

    # -- writes ---------------------------------------------------------------------------

    async def stage(self, objects: Iterable[Any]) -> None:
        """A line's `Context.flush`: new rows get their ids, and every row is kept for
        `write` and answers the reads of the lines after it."""
        for obj in objects:
            self.line_staged += 1
            if getattr(obj, "id", None) is None:
                obj.id = await self._next_id(type(obj))
                self._remember(obj)
            if id(obj) not in self._staged_ids:
                self._staged_ids.add(id(obj))
                self.staged.append(obj)

    def _remember(self, obj: Any) -> None:
        if isinstance(obj, Offender):
            self.offenders[obj.id_number] = obj
            self._read_of.setdefault(obj.id or 0, [])
        elif isinstance(obj, Judgment):
            self.numbers[(obj.court_agency_id, obj.judgment_number)] = obj.id
            self.judgments[obj.id or 0] = obj
            self._staged_of.setdefault(obj.offender_id, []).append(obj)
        elif isinstance(obj, Notice):
            self.notices[(obj.sender_agency_id, obj.notice_number)] = obj

    async def _next_id(self, model: type) -> int:
        pool = self._ids.get(model)
        if not pool:
            table = _TABLES.get(model)
            if table is None:
                raise TypeError(f"a judgment line does not write {model.__name__}")
            if self._sqlite:
                # The batch holds SQLite's write lock: nobody else takes an id meanwhile.
                top = self._top.get(model)
                if top is None:
                    top = int(await self._session.scalar(select(func.coalesce(
                        func.max(model.id), 0))) or 0)  # type: ignore[attr-defined]
                self._top[model] = top + self._chunk
                pool = list(range(top + self._chunk, top, -1))
            else:
                pool = list(reversed((await self._session.scalars(
                    text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                         "FROM generate_series(1, :n)").bindparams(
                        table=table, n=self._chunk))).all()))
            self._ids[model] = pool
        return int(pool.pop())

    async def write(self) -> None:
        """Inserts and updates every staged row, in the order staged: a flush a table, the
        referenced tables first (the models have no relationships to order them by)."""
        if self.staged:
            for tier in _TIERS:
                rows = [r for r in self.staged if _tier(r) == tier]
                if rows:
                    self._session.add_all(rows)
                    await self._session.flush()
            self._session.expunge_all()
        self.staged.clear()
        self._staged_ids.clear()
