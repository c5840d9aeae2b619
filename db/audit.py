"""The tamper-evident audit trail (DESIGN.md §1.5): append inside the caller's transaction,
seal each event with the service's key, hand checkpoints of the head to a witness outside
the database, and verify all of it.

Every event carries `prev_hash`, the hash of the event before it, and `hash`: an
HMAC-SHA256, under the audit key `key_id` (db/audit_keys.py, kept outside the database),
over every other column and the chain's id. Without the key nobody can write an event that
verifies, so inserting, editing, reordering or deleting a row, or rewriting every row after
it, breaks the chain. What a MAC cannot show is a tail cut off: the checkpoint writer hands
the head (sequence, MAC), signed, to the witness at least every minute and at shutdown, and
verify checks that the chain still reaches every witness checkpoint of its chain id.

Events written before the key existed (a database migrated to 0011) have `key_id` "" and
an unkeyed SHA-256 (`event_hash`): the chain's legacy prefix, events 1..`legacy_until`. It
is accepted only up to the `legacy_until` that a signed witness checkpoint states; every
event after it must be keyed, and the first keyed one chains onto the prefix's last hash.

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
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, RowMapping, bindparam, func, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlmodel import col

from db.audit_keys import AuditKeys, append_witness, read_witness
from db.engine import Database, run_in_session
from db.ids import new_id
from db.models.audit import AuditChainState, AuditCheckpoint, AuditEvent
from db.rows import row_type

log = logging.getLogger("registry.audit")

GENESIS_HASH = "0" * 64

# pg_advisory_xact_lock key: the first 8 bytes of sha256(b"registry.audit_event.chain").
CHAIN_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"registry.audit_event.chain").digest()[:8], "big", signed=True
)
# The checkpoint writer's: one writer at a time, the others skip their turn.
CHECKPOINT_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"registry.audit_event.checkpoint").digest()[:8], "big", signed=True
)

# The columns the unkeyed (legacy) hash covers: every column of the table before 0011 but
# `hash`. The keyed MAC covers these, `key_id` and the chain's id.
HASHED_COLUMNS: tuple[str, ...] = (
    "seq", "event_id", "at", "request_id", "sub", "role", "agency", "client_id", "operation",
    "action", "resource_type", "resource_ids", "purpose", "inquiry_id", "case_number",
    "outcome", "policy_uid", "policy_version", "detail", "prev_hash",
)

_TABLE = AuditEvent.__table__  # type: ignore[attr-defined]
_STATE = AuditChainState.__table__  # type: ignore[attr-defined]


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


_RECORD_FIELDS = tuple(f.name for f in fields(AuditRecord))


def _values_of(record: AuditRecord) -> dict[str, Any]:
    """The record's values, its lists and mappings copied, so that the caller's record stays
    its own (what `asdict` did, at a fraction of its cost: a record is flat but for these)."""
    values: dict[str, Any] = {}
    for name in _RECORD_FIELDS:
        value = getattr(record, name)
        if isinstance(value, list):
            value = list(value)
        elif isinstance(value, dict):
            value = json.loads(json.dumps(value))
        values[name] = value
    return values


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


def _canonical(event: AuditEvent | Mapping[str, Any] | RowMapping) -> dict[str, Any]:
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
    return canonical


def _payload(canonical: dict[str, Any]) -> bytes:
    return json.dumps(canonical, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def event_hash(event: AuditEvent | Mapping[str, Any] | RowMapping) -> str:
    """The unkeyed SHA-256 of an event: the legacy prefix's hash (anyone can compute it)."""
    return hashlib.sha256(_payload(_canonical(event))).hexdigest()


def event_mac(event: AuditEvent | Mapping[str, Any] | RowMapping, chain_id: str,
              keys: AuditKeys, key_id: str | None = None) -> str | None:
    """The keyed hash of an event in chain `chain_id` under its `key_id` (None: a key the
    ring does not hold)."""
    kid = key_id if key_id is not None else (
        event["key_id"] if isinstance(event, Mapping) else event.key_id)
    canonical = _canonical(event)
    canonical.update(chain=chain_id, key_id=kid)
    return keys.mac(str(kid), _payload(canonical))


class AuditChain:
    def __init__(self, database: Database, keys: AuditKeys) -> None:
        self._is_sqlite = database.is_sqlite
        self._keys = keys
        self._lock = asyncio.Lock()
        self._holder: AsyncSession | None = None
        self._chain_id: str | None = None

    @property
    def keys(self) -> AuditKeys:
        return self._keys

    async def append(
        self, session: AsyncSession, records: Sequence[AuditRecord]
    ) -> list[Any]:
        """Appends the records, in order, to the chain inside the caller's open transaction.
        The caller commits (or rolls back) right after; the chain lock is held until then.
        Returns the events written, as read-only rows of `audit_event` (db/rows.py): one
        INSERT of plain values, no ORM instance per event (those cost a tenth of a page)."""
        if not records:
            return []
        await self._lock_chain(session)
        head = (
            await session.execute(
                select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1)
            )
        ).first()
        seq, prev_hash = (int(head.seq), str(head.hash)) if head else (0, GENESIS_HASH)
        if self._chain_id is None or seq == 0:  # once per process, and when a chain starts
            self._chain_id = await _chain_id(session, create=True)
        kid = self._keys.current
        rows: list[dict[str, Any]] = []
        for record in records:
            seq += 1
            values = _fitted(_values_of(record))
            values.update(seq=seq, event_id=new_id("evt"), at=datetime.now(UTC),
                          prev_hash=prev_hash, hash="", key_id=kid)
            mac = event_mac(values, self._chain_id, self._keys)
            assert mac is not None
            values["hash"] = prev_hash = mac
            rows.append(values)
        await session.execute(_TABLE.insert(), rows)
        event = row_type(AuditEvent)
        return [event(**values) for values in rows]

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


class GroupCommit:
    """Appends the audit events of many operations in one transaction (issue 13).

    An operation that wrote nothing (a read, or one whose changes rolled back) has no change
    its events must commit with: it hands them here and waits. One task per process takes
    everything queued, appends it under the chain lock and commits once; while that commit
    runs, the next batch queues. Each operation is answered only once its batch is durable,
    and if the batch fails every operation in it fails: nothing is answered unaudited. The
    chain lock is held for one statement round trip per batch, not for a request's whole
    transaction, so audited reads are no longer serialised by it (Trillian's sequencer and
    PostgreSQL's own group commit work this way). An operation that wrote appends inside
    its own transaction (AuditChain.append), so its changes and its events commit together.
    """

    MAX_BATCH = 1000  # records per transaction

    def __init__(self, database: Database, chain: AuditChain) -> None:
        self._database = database
        self._chain = chain
        self._queue: list[tuple[list[AuditRecord], asyncio.Future[None]]] = []
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # transactions committed (tests and metrics read it)

    async def write(self, records: Sequence[AuditRecord]) -> None:
        """Returns once `records` are committed; raises what the batch's commit raised."""
        if not records:
            return
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._run(self._wakeup), name="audit-group-commit")
        assert self._wakeup is not None
        done: asyncio.Future[None] = loop.create_future()
        self._queue.append((list(records), done))
        self._wakeup.set()
        # Shielded: a request cancelled while it waits (its client left) still has its
        # events written; the batch is not cancelled with it.
        await asyncio.shield(done)

    async def _run(self, wakeup: asyncio.Event) -> None:
        while True:
            await wakeup.wait()
            wakeup.clear()
            while self._queue:
                batch = self._take()
                try:
                    await self._commit([r for records, _ in batch for r in records])
                except Exception as error:
                    log.error("audit batch of %d operations failed: %s", len(batch),
                              type(error).__name__)
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(error)
                else:
                    self.batches += 1
                    for _, done in batch:
                        if not done.done():
                            done.set_result(None)

    def _take(self) -> list[tuple[list[AuditRecord], asyncio.Future[None]]]:
        taken, size = 0, 0
        for records, _ in self._queue:
            if taken and size + len(records) > self.MAX_BATCH:
                break
            taken += 1
            size += len(records)
        batch, self._queue = self._queue[:taken], self._queue[taken:]
        return batch

    async def _commit(self, records: list[AuditRecord]) -> None:
        if not records:
            return
        async with self._database.session() as session:
            try:
                await self._chain.append(session, records)
                await session.commit()
            finally:
                self._chain.release(session)

    async def close(self) -> None:
        """Waits for what is queued (a marker behind it: the batches are taken in order),
        then stops the task."""
        task = self._task
        if task is None:
            return
        if self._queue and not task.done() and self._wakeup is not None:
            marker: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._queue.append(([], marker))
            self._wakeup.set()
            with contextlib.suppress(Exception):
                await marker
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        self._task = None


async def _chain_id(session: AsyncSession, *, create: bool) -> str:
    """The database's chain id ("" when it has none). `create` gives it one (under the chain
    lock): a chain started on an empty table, or one whose row was deleted, whose events
    then no longer verify, as they name the old id."""
    found = await session.scalar(select(_STATE.c.chain_id).limit(1))
    if found is not None or not create:
        return str(found or "")
    chain_id = new_id("chn")
    await session.execute(_STATE.insert().values(
        chain_id=chain_id, legacy_until=0, started_at=datetime.now(UTC), witnessed_n=0,
        witnessed_seq=0, witnessed_hash=""))
    return chain_id


@dataclass(frozen=True)
class VerifyResult:
    """`count` is the number of events that verified (the intact prefix when broken);
    `unkeyed` the last event of the unkeyed legacy prefix (0: none); `head` the last
    event's (seq, hash)."""

    intact: bool
    count: int
    first_bad_seq: int | None
    problem: str | None
    unkeyed: int = 0
    head: tuple[int, str] | None = field(default=None, compare=False)
    marks: dict[int, str] = field(default_factory=dict, compare=False)


async def verify_chain(session: AsyncSession, keys: AuditKeys | None, *, batch: int = 1000,
                       marks: frozenset[int] = frozenset()) -> VerifyResult:
    """Walks the chain from event 1. `marks`: the sequences whose hashes to report (the
    witness checkpoints'). Without keys, only an unkeyed chain can verify."""
    chain_id = await _chain_id(session, create=False)
    count = 0
    prev_seq = 0
    prev_hash = GENESIS_HASH
    unkeyed = 0
    found: dict[int, str] = {}

    def broken(seq: int, problem: str) -> VerifyResult:
        return VerifyResult(intact=False, count=count, first_bad_seq=seq, problem=problem,
                            unkeyed=unkeyed, marks=found)

    while True:
        rows = (
            await session.execute(
                select(_TABLE).where(_TABLE.c.seq > prev_seq).order_by(_TABLE.c.seq).limit(batch)
            )
        ).mappings().all()
        if not rows:
            return VerifyResult(intact=True, count=count, first_bad_seq=None, problem=None,
                                unkeyed=unkeyed, head=(prev_seq, prev_hash) if count else None,
                                marks=found)
        for row in rows:
            seq = int(row["seq"])
            if seq != prev_seq + 1:
                return broken(seq, f"deleted: events {prev_seq + 1} to {seq - 1} are missing"
                              if prev_seq else f"deleted: the chain starts at {seq}, not 1")
            problem = await _seal_problem(session, row, chain_id, keys, keyed_before=(
                count > unkeyed))
            if problem is None and row["prev_hash"] != prev_hash:
                problem = await _link_problem(session, row, prev_seq)
            if problem is not None:
                return broken(seq, problem)
            if not row["key_id"]:
                unkeyed = seq
            count += 1
            prev_seq = seq
            prev_hash = row["hash"]
            if seq in marks:
                found[seq] = prev_hash


async def _seal_problem(session: AsyncSession, row: RowMapping, chain_id: str,
                        keys: AuditKeys | None, *, keyed_before: bool) -> str | None:
    """What is wrong with the row's own hash, named: forged (a hash made without the key),
    reordered (a genuine event moved), or edited (content that no longer matches)."""
    kid = str(row["key_id"] or "")
    if not kid:
        if keyed_before:
            return "forged: an unkeyed event after the chain was sealed with the key"
        if row["hash"] == event_hash(row):
            return None
    else:
        if keys is None:
            return "cannot be checked: the audit key (REGISTRY_AUDIT_KEY_FILE) is missing"
        if not chain_id:
            return "rewritten: the database's chain id (audit_chain) is gone"
        if not keys.knows(kid):
            return f"forged: sealed with a key the service does not have ({kid})"
        if row["hash"] == event_mac(row, chain_id, keys):
            return None
        if row["hash"] == event_hash(row):
            return "forged: its hash was computed without the service's key"
    if await _elsewhere(session, row["prev_hash"], int(row["seq"])) is not None:
        return "reordered: its content was written at another place in the chain"
    return "edited: its content does not match its hash"


async def _link_problem(session: AsyncSession, row: RowMapping, prev_seq: int) -> str:
    """A row whose own hash verifies but does not follow the event before it."""
    other = await _elsewhere(session, row["prev_hash"], int(row["seq"]))
    if other is not None:
        return f"reordered: it follows event {other}, not event {prev_seq}"
    return (f"rewritten or deleted: the event it was chained to is gone (prev_hash does not "
            f"match event {prev_seq})")


async def _elsewhere(session: AsyncSession, hash_: str, seq: int) -> int | None:
    found = await session.scalar(select(_TABLE.c.seq).where(
        _TABLE.c.hash == hash_, _TABLE.c.seq != seq - 1).limit(1))
    return None if found is None else int(found)


@dataclass(frozen=True)
class WitnessReport:
    problem: str | None
    seq: int | None  # the checkpoint's event, where the problem is about one
    checkpoints: int
    newest: int  # the newest checkpoint's event (0: none)


async def verify_witness(session: AsyncSession, keys: AuditKeys | None, witness: str,
                         chain: VerifyResult | None = None) -> tuple[VerifyResult, WitnessReport]:
    """The chain, then every witness checkpoint of its chain id against it: signed by the
    service's key, numbered without a gap, as many as the database says were written, and
    reached by the chain (same MAC at the same event). Runs the chain walk itself (with the
    checkpoints' events marked) unless given one."""
    chain_id = await _chain_id(session, create=False)
    state = (await session.execute(select(_STATE).limit(1))).mappings().first()
    entries = list(read_witness(witness, chain_id, keys)) if chain_id else []
    signed = [e for e in entries if e.claims is not None]
    if chain is None:
        chain = await verify_chain(session, keys, marks=frozenset(
            int(e.claims["seq"]) for e in signed if e.claims is not None))
    if not chain.intact:
        return chain, WitnessReport(None, None, len(signed), 0)

    def report(problem: str, seq: int | None = None) -> tuple[VerifyResult, WitnessReport]:
        return chain, WitnessReport(problem, seq, len(signed), 0)

    for entry in entries:
        if entry.problem is not None:
            return report(f"forged witness line {entry.line}: {entry.problem}")
    if chain.count and not chain_id:
        return report("rewritten: the database's chain id (audit_chain) is gone")
    legacy = {int(e.claims["legacy_until"]) for e in signed if e.claims is not None}
    if len(legacy) > 1:
        return report(f"forged: the witness checkpoints disagree on the unkeyed prefix ({legacy})")
    if chain.unkeyed:
        vouched = next(iter(legacy), None)
        if vouched is None:
            return report(f"unvouched: events 1 to {chain.unkeyed} predate the audit key and "
                          "no witness checkpoint vouches for them (`registry audit checkpoint`)")
        if vouched != chain.unkeyed:
            return report(f"forged: events up to {chain.unkeyed} are unkeyed, the witness "
                          f"vouches for an unkeyed prefix up to event {vouched}")
    previous_n = 0
    head_seq = chain.head[0] if chain.head else 0
    for entry in signed:
        assert entry.claims is not None
        n, seq = int(entry.claims["n"]), int(entry.claims["seq"])
        where = f"witness checkpoint {n} at event {seq} (line {entry.line})"
        if n < previous_n:
            return report(f"reordered: {where} comes after checkpoint {previous_n}", seq)
        if n > previous_n + 1:
            return report(f"deleted: the witness lost checkpoint {previous_n + 1}"
                          + (f" to {n - 1}" if n - 1 > previous_n + 1 else ""), seq)
        previous_n = n
        if seq > head_seq:
            return report(f"truncated: the chain ends at event {head_seq}, {where} "
                          "was taken after it", seq)
        if chain.marks.get(seq) != entry.claims["hash"]:
            return report(f"rewritten: the chain no longer reaches {where}", seq)
    recorded = int(state["witnessed_n"]) if state is not None else 0
    if recorded > previous_n:
        return report(f"truncated witness: the database records {recorded} checkpoints of this "
                      f"chain, the witness holds {previous_n}: the witness shrank")
    newest = max((int(e.claims["seq"]) for e in signed if e.claims is not None), default=0)
    return chain, WitnessReport(None, None, len(signed), newest)


async def write_checkpoint(session: AsyncSession, keys: AuditKeys, witness: str, *,
                           force: bool = False) -> dict[str, Any] | None:
    """Hands the chain's head, signed, to the witness, and records that it did. One writer at
    a time: on PostgreSQL an advisory lock that a busy writer's rivals skip their turn on,
    on SQLite the database write lock. Skipped (None) when another writer holds the lock,
    the chain is empty, or (unless `force`) the newest checkpoint already covers the head.
    The witness line is on disk before the database records it; the caller commits."""
    if session.get_bind().dialect.name == "postgresql":
        granted = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)").bindparams(
            bindparam("key", CHECKPOINT_LOCK_KEY, type_=BigInteger)))
        if not granted:
            return None
    else:
        await session.execute(text("UPDATE audit_chain SET witnessed_n = witnessed_n "
                                   "WHERE 1 = 0"))
    state = (await session.execute(select(_STATE).limit(1))).mappings().first()
    head = (await session.execute(
        select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1))).first()
    if state is None or head is None:
        return None
    if not force and (int(head.seq), str(head.hash)) == (int(state["witnessed_seq"]),
                                                         state["witnessed_hash"]):
        return None
    claims = {"chain": state["chain_id"], "n": int(state["witnessed_n"]) + 1,
              "seq": int(head.seq), "hash": str(head.hash),
              "legacy_until": int(state["legacy_until"]),
              "at": datetime.now(UTC).isoformat(timespec="seconds")}
    await asyncio.to_thread(append_witness, witness, keys, claims)
    await session.execute(update(_STATE).where(_STATE.c.chain_id == state["chain_id"]).values(
        witnessed_n=claims["n"], witnessed_seq=claims["seq"], witnessed_hash=claims["hash"]))
    return claims


class CheckpointWriter:
    """The running service's checkpoints: one when it starts, then every `interval` seconds
    (at most 60, DESIGN §1.5), and one at shutdown. Every process runs one; the lock in
    `write_checkpoint` makes them take turns."""

    def __init__(self, database: Database, keys: AuditKeys, witness: str,
                 interval: float) -> None:
        self._database = database
        self._keys = keys
        self._witness = witness
        self._interval = interval

    async def write(self) -> dict[str, Any] | None:
        try:
            async with self._database.session() as session:
                claims = await write_checkpoint(session, self._keys, self._witness)
                await session.commit()
                return claims
        except Exception as exc:  # noqa: BLE001 - the next turn tries again
            log.warning("audit checkpoint not written: %s", type(exc).__name__)
            return None

    async def run(self) -> None:
        while True:
            await self.write()
            await asyncio.sleep(self._interval)


async def _verify_legacy_checkpoints(session: AsyncSession, check: Callable[[str, str], bool]
                                     ) -> str | None:
    """The checkpoints of the database table `audit_checkpoint` (written before the witness
    existed, signed with the issuer's key): the first problem, or None."""
    checkpoints = (await session.scalars(
        select(AuditCheckpoint).order_by(col(AuditCheckpoint.seq)))).all()
    for checkpoint in checkpoints:
        if not check(checkpoint_payload(checkpoint.seq, checkpoint.hash), checkpoint.signature):
            return f"checkpoint at event {checkpoint.seq}: signature does not verify"
        found = await session.scalar(select(_TABLE.c.hash).where(_TABLE.c.seq == checkpoint.seq))
        if found != checkpoint.hash:
            return f"checkpoint at event {checkpoint.seq}: the chain no longer reaches it"
    return None


def checkpoint_payload(seq: int, hash_: str) -> str:
    return f"audit-checkpoint:{seq}:{hash_}"


async def _count_checkpoints(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0)


async def _verify_all(session: AsyncSession, keys: AuditKeys | None, witness: str
                      ) -> tuple[VerifyResult, WitnessReport, str]:
    chain, report = await verify_witness(session, keys, witness)
    event_id = ""
    if chain.first_bad_seq is not None:
        found = await session.scalar(
            select(_TABLE.c.event_id).where(_TABLE.c.seq == chain.first_bad_seq))
        event_id = str(found or "")
    return chain, report, event_id


def cmd_audit_verify(database_url: str, keys: AuditKeys | None, witness: str,
                     check: Callable[[str, str], bool] | None = None) -> int:
    """`registry audit verify`: the chain with the key, every witness checkpoint of this
    chain against it, and the older checkpoints kept in the database (`check` verifies
    their issuer signatures). Prints one line naming what it found; exit 0 only if intact."""
    chain, report, event_id = run_in_session(
        database_url, lambda session: _verify_all(session, keys, witness))
    if not chain.intact:
        print(f"audit chain broken at event {chain.first_bad_seq} ({event_id}): "
              f"{chain.problem}")
        return 1
    if report.problem is not None:
        print(f"audit chain broken: {report.problem}")
        return 1
    legacy = run_in_session(database_url, _count_checkpoints)
    if legacy:
        if check is None:
            print(f"audit chain intact: {chain.count} events, but {legacy} signed "
                  "checkpoints cannot be checked without the signing key")
            return 1
        problem = run_in_session(database_url,
                                 lambda session: _verify_legacy_checkpoints(session, check))
        if problem is not None:
            print(f"audit chain broken: rewritten: {problem}")
            return 1
    print(f"audit chain intact: {chain.count} events")
    print(f"witness: {report.checkpoints} checkpoints of this chain"
          + (f", the newest at event {report.newest}" if report.checkpoints else "")
          + (f"; events 1 to {chain.unkeyed} predate the audit key" if chain.unkeyed else ""))
    return 0


def cmd_audit_checkpoint(database_url: str, keys: AuditKeys, witness: str) -> int:
    """`registry audit checkpoint`: the head to the witness now, covered already or not."""
    async def work(session: AsyncSession) -> dict[str, Any] | None:
        claims = await write_checkpoint(session, keys, witness, force=True)
        await session.commit()
        return claims

    claims = run_in_session(database_url, work)
    if claims is None:
        print("audit chain empty (or another checkpoint is being written): no checkpoint "
              "written")
        return 1
    print(f"audit checkpoint {claims['n']} written at event {claims['seq']}")
    return 0
