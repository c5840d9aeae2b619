"""The tamper-evident audit trail (DESIGN.md §1.5): append inside the caller's transaction,
verify the hash chain.

Every event carries `prev_hash`, the hash of the event before it, and `hash`, a SHA-256 over
every other column. Editing, deleting, inserting or reordering a row therefore breaks the
chain at that row. Rewriting a row *and every row after it* is only caught by comparing the
head with a signed checkpoint (`AuditCheckpoint`), which is not this module's job.

Chain order is `seq`, assigned here under a chain lock held until the caller's transaction
ends, so concurrent requests can neither fork the chain nor leave a gap:
- PostgreSQL: a transaction-scoped advisory lock, so any number of processes may write. The
  head is read after the lock is granted, which needs READ COMMITTED (the default); under a
  stricter isolation a stale head makes the insert fail on the `seq` primary key, never fork.
- SQLite is the embedded, single-process mode: an `asyncio.Lock` per `AuditChain`, released by
  `release(session)` (and, as a safety net, when the session's transaction ends).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, RowMapping, bindparam, func, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel import col

from db.engine import Database, run_in_session
from db.ids import new_id
from db.models.audit import AuditCheckpoint, AuditEvent

GENESIS_HASH = "0" * 64

# pg_advisory_xact_lock key: the first 8 bytes of sha256(b"registry.audit_event.chain").
CHAIN_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"registry.audit_event.chain").digest()[:8], "big", signed=True
)

# Every column but `hash`, in table order: the hash covers exactly these.
HASHED_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in AuditEvent.__table__.columns if c.name != "hash"  # type: ignore[attr-defined]
)

_TABLE = AuditEvent.__table__  # type: ignore[attr-defined]


@dataclass
class AuditRecord:
    action: str
    outcome: str
    sub: str = ""
    role: str = ""
    agency: str = ""
    client_id: str = ""
    request_id: str = ""
    operation: str = ""
    resource_type: str = ""
    resource_ids: list[str] = field(default_factory=list)
    purpose: str = ""
    inquiry_id: str = ""
    case_number: str = ""
    policy_uid: str = ""
    policy_version: int = 0
    detail: dict[str, Any] = field(default_factory=dict)


# The VARCHAR(n) columns of the trail: PostgreSQL refuses a longer value (SQLite keeps it).
_LENGTHS = {c.name: c.type.length for c in _TABLE.columns
            if getattr(c.type, "length", None) is not None}


def _fitted(values: dict[str, Any]) -> dict[str, Any]:
    """The record's text cut to its columns. Some of it comes from outside (the client's
    operation name, a remote issuer's claims); an event too long to store would fail the
    whole request on PostgreSQL and never be written, and the trail must hold every one."""
    return {name: value[:_LENGTHS[name]] if isinstance(value, str) and name in _LENGTHS
            else value for name, value in values.items()}


def _utc_iso(value: datetime | str) -> str:
    """The same instant must hash the same however the driver returns it (aware or naive,
    any offset, or the raw SQLite text), so it is hashed as UTC with microseconds."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _maybe_json(value: Any) -> Any:
    # A raw (untyped) SQLite read returns JSON columns as text.
    return json.loads(value) if isinstance(value, str) else value


def event_hash(event: AuditEvent | Mapping[str, Any] | RowMapping) -> str:
    source: Mapping[Any, Any] = (
        event if isinstance(event, Mapping) else {c: getattr(event, c) for c in HASHED_COLUMNS}
    )
    canonical: dict[str, Any] = {}
    for column in HASHED_COLUMNS:
        value = source[column]
        if column == "at":
            value = _utc_iso(value)
        elif column in ("resource_ids", "detail"):
            value = _maybe_json(value)
        elif column in ("seq", "policy_version"):
            value = int(value)
        canonical[column] = value
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class AuditChain:
    def __init__(self, database: Database) -> None:
        self._is_sqlite = database.is_sqlite
        self._lock = asyncio.Lock()
        self._holder: AsyncSession | None = None

    async def append(
        self, session: AsyncSession, records: Sequence[AuditRecord]
    ) -> list[AuditEvent]:
        """Appends the records, in order, to the chain inside the caller's open transaction.
        The caller commits (or rolls back) right after; the chain lock is held until then."""
        if not records:
            return []
        await self._lock_chain(session)
        head = (
            await session.execute(
                select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1)
            )
        ).first()
        seq, prev_hash = (int(head.seq), str(head.hash)) if head else (0, GENESIS_HASH)
        events: list[AuditEvent] = []
        for record in records:
            seq += 1
            # asdict copies the lists and dicts, so the caller's record stays its own.
            audit_event = AuditEvent(**_fitted(asdict(record)), seq=seq, event_id=new_id("evt"),
                                     at=datetime.now(UTC), prev_hash=prev_hash, hash="")
            audit_event.hash = prev_hash = event_hash(audit_event)
            events.append(audit_event)
        session.add_all(events)
        await session.flush()
        return events

    def release(self, session: AsyncSession) -> None:
        """Called by the unit of work after commit or rollback (no-op on PostgreSQL, where the
        lock is transaction-scoped). Idempotent, and harmless for a session that never
        appended."""
        if self._holder is session:
            self._holder = None
            self._lock.release()

    async def _lock_chain(self, session: AsyncSession) -> None:
        if not self._is_sqlite:
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)").bindparams(
                    bindparam("key", CHAIN_LOCK_KEY, type_=BigInteger)
                )
            )
            return
        if self._holder is session:  # a second append in the same transaction
            return
        # Take SQLite's database write lock first (a no-op UPDATE opens a write transaction).
        # A caller that already wrote holds it anyway; taking it before the asyncio lock keeps
        # one lock order for everybody, so a writer holding the file lock can never wait on
        # the asyncio lock while the asyncio lock's holder waits on the file lock.
        await session.execute(text("UPDATE audit_event SET seq = seq WHERE 1 = 0"))
        await self._lock.acquire()
        self._holder = session
        sync_session = session.sync_session
        if not sa_event.contains(sync_session, "after_transaction_end", self._on_transaction_end):
            sa_event.listen(sync_session, "after_transaction_end", self._on_transaction_end)

    def _on_transaction_end(self, sync_session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is not None or transaction.nested:
            return
        if self._holder is not None and self._holder.sync_session is sync_session:
            self.release(self._holder)


@dataclass(frozen=True)
class VerifyResult:
    """`count` is the number of events that verified (the intact prefix when broken)."""

    intact: bool
    count: int
    first_bad_seq: int | None
    problem: str | None


async def verify_chain(session: AsyncSession, *, batch: int = 1000) -> VerifyResult:
    count = 0
    prev_seq = 0
    prev_hash = GENESIS_HASH
    while True:
        rows = (
            await session.execute(
                select(_TABLE).where(_TABLE.c.seq > prev_seq).order_by(_TABLE.c.seq).limit(batch)
            )
        ).mappings().all()
        if not rows:
            return VerifyResult(intact=True, count=count, first_bad_seq=None, problem=None)
        for row in rows:
            seq = int(row["seq"])
            problem: str | None = None
            if seq != prev_seq + 1:
                problem = f"gap after {prev_seq}" if prev_seq else f"chain starts at {seq}, not 1"
            elif row["prev_hash"] != prev_hash:
                problem = (
                    f"prev_hash does not match event {prev_seq}"
                    if prev_seq
                    else "prev_hash of the first event is not the genesis hash"
                )
            elif row["hash"] != event_hash(row):
                problem = "hash mismatch"
            if problem is not None:
                return VerifyResult(intact=False, count=count, first_bad_seq=seq, problem=problem)
            count += 1
            prev_seq = seq
            prev_hash = row["hash"]


async def _verify_naming_event(session: AsyncSession) -> tuple[VerifyResult, str]:
    result = await verify_chain(session)
    event_id = ""
    if result.first_bad_seq is not None:
        found = await session.scalar(
            select(_TABLE.c.event_id).where(_TABLE.c.seq == result.first_bad_seq)
        )
        event_id = str(found or "")
    return result, event_id


def checkpoint_payload(seq: int, hash_: str) -> str:
    return f"audit-checkpoint:{seq}:{hash_}"


async def write_checkpoint(session: AsyncSession, sign: Callable[[str], str]
                           ) -> AuditCheckpoint | None:
    """Records the chain's head (sequence, hash), signed: a later verify checks that the
    chain still reaches it, so that even a rewrite of the whole chain, every hash redone,
    is detected. None when the chain is empty. The caller commits."""
    head = (await session.execute(
        select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1))).first()
    if head is None:
        return None
    checkpoint = AuditCheckpoint(seq=int(head.seq), hash=str(head.hash),
                                 signature=sign(checkpoint_payload(int(head.seq), head.hash)))
    session.add(checkpoint)
    await session.flush()
    return checkpoint


async def verify_checkpoints(session: AsyncSession, check: Callable[[str, str], bool]
                             ) -> str | None:
    """The first problem with a checkpoint (a bad signature, or a chain that no longer has
    the event with that hash), or None."""
    checkpoints = (await session.scalars(
        select(AuditCheckpoint).order_by(col(AuditCheckpoint.seq)))).all()
    for checkpoint in checkpoints:
        if not check(checkpoint_payload(checkpoint.seq, checkpoint.hash), checkpoint.signature):
            return f"checkpoint at event {checkpoint.seq}: signature does not verify"
        found = await session.scalar(select(_TABLE.c.hash).where(_TABLE.c.seq == checkpoint.seq))
        if found != checkpoint.hash:
            return f"checkpoint at event {checkpoint.seq}: the chain no longer reaches it"
    return None


def cmd_audit_verify(database_url: str,
                     check: Callable[[str, str], bool] | None = None) -> int:
    result, event_id = run_in_session(database_url, _verify_naming_event)
    if not result.intact:
        print(f"audit chain broken at event {result.first_bad_seq} ({event_id}): "
              f"{result.problem}")
        return 1
    if check is None:
        checkpoints = run_in_session(database_url, _count_checkpoints)
        if checkpoints:
            print(f"audit chain intact: {result.count} events, but {checkpoints} signed "
                  "checkpoints cannot be checked without the signing key")
            return 1
    else:
        problem = run_in_session(database_url,
                                 lambda session: verify_checkpoints(session, check))
        if problem is not None:
            print(f"audit chain rewritten: {problem}")
            return 1
    print(f"audit chain intact: {result.count} events")
    return 0


async def _count_checkpoints(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0)


def cmd_audit_checkpoint(database_url: str, sign: Callable[[str], str]) -> int:
    async def work(session: AsyncSession) -> AuditCheckpoint | None:
        checkpoint = await write_checkpoint(session, sign)
        await session.commit()
        return checkpoint

    checkpoint = run_in_session(database_url, work)
    if checkpoint is None:
        print("audit chain empty: no checkpoint written")
        return 1
    print(f"audit checkpoint written at event {checkpoint.seq}")
    return 0
