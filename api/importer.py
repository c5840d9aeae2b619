"""`registry import notices FILE.jsonl`: bulk loading for an agency's existing system.

Each line is one JSON object, `{"kind": "JUDGMENT" | "RELEASE" | "CORRECTION_EXPIRY",
"input": {...}}`, whose `input` is exactly the GraphQL input of `reportJudgment`,
`reportRelease` or `reportCorrectionExpiry` (CONTRACT.md §4). Every line runs as that
mutation through the HTTP endpoint's own runner (`run_nested_operation`, which shares
`run_operation`'s context, execution, audit records and answer), for a principal of the
importing agency: validation, the policy decision, idempotency and the audit events are the
API's by construction. Nothing here decides who may report.

Lines run in batches (issue 13): one transaction per batch; the batch's audit events, the
events each line would have written, in line order, go to the chain in one append and
commit with the batch. A line counts as done only once its batch has committed; a batch
that fails to commit runs again one transaction per line. A run of consecutive judgment
lines reads what its lines look up in a few statements and writes their rows in one flush
a table (schema/batch.py): its lines write nothing while they run, so a line refused
(invalid, a conflict, forbidden, a duplicate) changed nothing, and a line that fails after
it staged rows sends the whole batch to run again one transaction per line. Every other
line runs in a SAVEPOINT of its own, which rolls back alone. Either way each line is
reported as the API answered it.

The file is read one line at a time (a line larger than the API's body limit is skipped
unread), so memory does not grow with the file. Only line numbers, error codes and field
names are ever printed: never an identity number or anything else a line contains.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.auth import Principal
from api.graphql import MAX_BODY_BYTES, run_nested_operation, run_operation
from api.settings import Settings
from api.state import AppState
from db.audit import AuditRecord
from db.models import Agency
from schema.batch import ReportBatch
from schema.context import Context

log = logging.getLogger("registry.import")

# The mutation each kind runs, and its operation name in the audit trail. Nothing is read
# back: the outcome is the resolver's (Context.notice_outcome), so no line adds a read
# of its notice to the audit trail.
OPERATIONS: dict[str, tuple[str, str]] = {
    "JUDGMENT": ("ImportJudgment", "mutation ImportJudgment($input: ReportJudgmentInput!) "
                 "{ reportJudgment(input: $input) { __typename } }"),
    "RELEASE": ("ImportRelease", "mutation ImportRelease($input: ReportReleaseInput!) "
                "{ reportRelease(input: $input) { __typename } }"),
    "CORRECTION_EXPIRY": ("ImportCorrectionExpiry",
                          "mutation ImportCorrectionExpiry($input: ReportCorrectionExpiryInput!) "
                          "{ reportCorrectionExpiry(input: $input) { __typename } }"),
}

# The role an officer of each agency kind has. The reporting kinds are the ones that
# matter; the others get their natural role so that the policies, not this table, refuse.
ROLE_BY_AGENCY_KIND = {
    "COURT": "judge", "PRISON": "prison_officer", "DETENTION_CENTER": "prison_officer",
    "JUDICIAL_ADMINISTRATION": "judicial_admin_officer", "PROCURATORATE": "prosecutor",
    "PUBLIC_SECURITY": "police_officer", "STATE_SECURITY": "state_security_officer",
    "REGISTRATION_AUTHORITY": "registry_clerk", "LAW_FIRM": "defense_lawyer",
    "EMPLOYER": "employer", "MILITARY": "recruiter", "SCHOOL": "school",
}

CLIENT_ID = "registry-import"
OUTCOMES = ("registered", "duplicate", "conflict", "queued", "invalid", "forbidden", "failed")
FAILURES = frozenset({"conflict", "invalid", "forbidden", "failed"})
MAX_LISTED = 100


@dataclass(frozen=True)
class Problem:
    line: int
    outcome: str
    code: str
    field: str | None = None
    reason: str = ""

    def __str__(self) -> str:
        detail = f"{self.field}: {self.reason}" if self.field else self.reason or self.code
        return f"{self.outcome}: line {self.line} ({detail})"


@dataclass
class Summary:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    lines: int = 0
    problems: list[Problem] = field(default_factory=list)
    unlisted: int = 0
    # The last line done when an interrupt stopped the import before the end of the file.
    stopped_after: int | None = None

    def add(self, outcome: str, problem: Problem | None = None) -> None:
        self.counts[outcome] += 1
        if problem is not None:
            if len(self.problems) < MAX_LISTED:
                self.problems.append(problem)
            else:
                self.unlisted += 1

    @property
    def exit_code(self) -> int:
        if self.stopped_after is not None:
            return 130
        return 1 if any(self.counts[o] for o in FAILURES) else 0

    def text(self) -> str:
        shown = [o for o in OUTCOMES if o != "failed" or self.counts[o]]
        out = ["  ".join(f"{o} {self.counts[o]}" for o in shown)]
        out += [str(p) for p in self.problems]
        if self.unlisted:
            out.append(f"... and {self.unlisted} more lines with problems")
        if self.stopped_after is not None:
            out.append(f"interrupted after line {self.stopped_after}: the lines up to it are "
                       "done; run the same file again to finish (done lines come back as "
                       "duplicates)")
        return "\n".join(out)

    def as_json(self) -> dict[str, Any]:
        return {**self.counts, "lines": self.lines,
                "problems": [{k: v for k, v in vars(p).items() if v is not None}
                             for p in self.problems],
                "unlisted_problems": self.unlisted, "stopped_after": self.stopped_after}


def read_lines(stream: IO[bytes], limit: int = MAX_BODY_BYTES
               ) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, the line or None when it is longer than `limit`, bytes consumed), one
    line at a time: never more than `limit` bytes of the file are held at once."""
    number = 0
    while raw := stream.readline(limit + 1):
        number += 1
        consumed = len(raw)
        if len(raw) > limit and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(limit + 1)
                consumed += len(raw)
            yield number, None, consumed
        else:
            yield number, raw, consumed


def parse_line(raw: bytes | None) -> tuple[str, dict[str, Any]] | str | None:
    """(kind, input), or why the line is invalid, or None for a blank line."""
    if raw is None:
        return f"line longer than {MAX_BODY_BYTES} bytes"
    try:
        text = raw.decode("utf-8").strip().lstrip("\ufeff")
    except UnicodeDecodeError:
        return "not UTF-8"
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return "not JSON"
    if not isinstance(value, dict):
        return "not a JSON object"
    kind = value.get("kind")
    if not isinstance(kind, str) or kind not in OPERATIONS:
        return f"kind must be one of {', '.join(OPERATIONS)}"
    if not isinstance(value.get("input"), dict):
        return "input is missing or not an object"
    if value.keys() - {"kind", "input"}:
        return "keys other than kind and input"
    return kind, value["input"]


def judge_response(response: dict[str, Any], outcome: str, line: int
                   ) -> tuple[str, Problem | None]:
    """The line's outcome from the API's answer and what the resolver did with the notice
    (`Context.notice_outcome`: registered, duplicate or queued)."""
    errors = response.get("errors")
    if not errors:
        if outcome in ("registered", "duplicate", "queued"):
            return outcome, None
        return "failed", Problem(line, "failed", "NO_OUTCOME",
                                 reason="the operation reported no notice outcome")
    extensions = errors[0].get("extensions") or {}
    code = str(extensions.get("code", "INTERNAL"))
    name = extensions.get("field")
    if code == "BAD_USER_INPUT":
        message = str(errors[0].get("message", ""))
        # Our validators say "<field>: <rule>"; graphql-core's coercion messages quote the
        # value, which may be an identity number, so they are not repeated.
        reason = (message[len(name) + 2:] if name and message.startswith(f"{name}: ")
                  else "does not match the input type")
        return "invalid", Problem(line, "invalid", code, name, reason)
    if code == "CONFLICT":
        return "conflict", Problem(line, "conflict", code, name,
                                   str(errors[0].get("message", "")))
    if code in ("FORBIDDEN", "UNAUTHENTICATED"):
        return "forbidden", Problem(line, "forbidden", code)
    request_id = extensions.get("requestId")
    return "failed", Problem(line, "failed", code,
                             reason=f"{code} request {request_id}" if request_id else code)


# A batch: one transaction, one append to the audit chain and one commit. It ends at
# whichever comes first: BATCH_LINES lines, BATCH_BYTES of lines kept for a retry, or
# BATCH_SECONDS since it began, checked between runs of judgment lines (so a concurrent
# writer waits on the batch's locks for about that long, or for a run of lines, at most).
BATCH_LINES = 500
BATCH_BYTES = 1024 * 1024
BATCH_SECONDS = 0.1


@dataclass
class _Line:
    number: int
    slot: int  # its place among the batch's results
    kind: str
    input: dict[str, Any]


class _Agencies:
    """The agencies the batch's lines have read, handed to each next line as its own
    operation would have read them: in the batch's transaction, and older than what the
    API's own agency directory serves (AgencyDirectory) by no more than the batch lasts.

    They go to the same per-operation caches the resolvers fill (the agency loaders, the
    registration authorities routing reads), so no rule runs differently: the rows are
    only not read again. Taken from an operation that succeeded only (a SAVEPOINT rolled
    back expires what it loaded), and out of the session by then (expunged)."""

    def __init__(self) -> None:
        self.by_id: dict[int, Agency] = {}
        self.by_code: dict[str, Agency] = {}
        self.authorities: list[Agency] | None = None

    def prime(self, ctx: Context) -> None:
        ctx.loaders.agency.prime_many(self.by_id)
        ctx.loaders.agency_by_code.prime_many(self.by_code)
        if self.authorities is not None:
            ctx.memo.setdefault(AUTHORITIES, self.authorities)

    def take(self, ctx: Context) -> None:
        for loader, found in ((ctx.loaders.agency, self.by_id),
                              (ctx.loaders.agency_by_code, self.by_code)):
            cache = getattr(loader.cache_map, "cache_map", {})
            for key, future in cache.items():
                if future.done() and not future.cancelled() and future.exception() is None \
                        and isinstance(future.result(), Agency):
                    found[key] = future.result()
        authorities = ctx.memo.get(AUTHORITIES)
        if isinstance(authorities, list):
            self.authorities = authorities


# The memo entry of schema/notices.authority_for.
AUTHORITIES = "registration_authorities"


@dataclass
class _Batch:
    """The lines run in the transaction in hand, in order, and what each came to: nothing
    of it is reported before the commit."""

    results: list[tuple[str, Problem | None]] = field(default_factory=list)
    lines: list[_Line] = field(default_factory=list)
    records: list[AuditRecord] = field(default_factory=list)
    consumed: int = 0
    started: float = 0.0
    last: int = 0
    policy_changed: bool = False
    agencies: _Agencies = field(default_factory=_Agencies)
    # A line of a run of judgment lines failed after it staged rows (schema/batch.py), or
    # the run's rows could not be written: the batch is not committed, its lines run again
    # one transaction each.
    redo: bool = False
    # The batch's transaction, once a line opened it.
    session: AsyncSession | None = None


@dataclass
class _Item:
    """A line read ahead: the one to run, or what it already came to (a bad line), or
    neither (a blank line)."""

    number: int
    consumed: int
    size: int = 0
    line: _Line | None = None
    result: tuple[str, Problem | None] | None = None


# The error codes a line's resolver answers before it writes anything (its input, its
# idempotency key, its permission). Any other error of a line whose writes are staged may
# have come halfway through its writes: its batch runs again line by line.
_CLEAN_REFUSALS = frozenset({"BAD_USER_INPUT", "CONFLICT", "FORBIDDEN", "UNAUTHENTICATED"})


async def import_notices(state: AppState, principal: Principal, stream: IO[bytes],
                         progress: Callable[[int], object] = lambda n: None,
                         stop: asyncio.Event | None = None, *,
                         batch_lines: int = BATCH_LINES, batch_bytes: int = BATCH_BYTES,
                         batch_seconds: float = BATCH_SECONDS, staged: bool = True) -> Summary:
    """Runs every line of `stream` as its mutation, in order, in batches: one transaction
    per batch, a failing line rolled back alone, its answer and audit events exactly those
    of the API, the batch's audit events appended once and committed with its lines. A
    batch's outcomes count only once it has committed; should the commit fail, its lines
    run again one transaction each (`run_operation`), so every line is reported for what
    became of it. `progress` receives the bytes of each committed batch; once `stop` is
    set, the import ends after the batch in hand.

    A batch reads up to `batch_lines` lines (or `batch_bytes` of them) ahead. Each run of
    consecutive judgment lines reads what its lines look up in a few statements and writes
    their rows in one flush (`staged`, schema/batch.py); every other line runs in a
    SAVEPOINT of its own."""
    summary = Summary()
    run = uuid.uuid4().hex[:12]
    lines = read_lines(stream)
    carried: list[_Item] = []
    exhausted = False
    while True:
        items, carried = carried, []
        exhausted = _read_ahead(lines, items, batch_lines, batch_bytes, exhausted)
        if not items:
            break
        if stop is not None and stop.is_set():
            summary.stopped_after = items[0].number - 1
            break
        batch = _Batch(started=time.monotonic())
        try:
            carried = await _run_batch(state, principal, run, batch, items, batch_seconds,
                                       stop, staged)
            session, batch.session = batch.session, None
            await _finish(state, principal, run, session, batch, summary, progress)
        finally:
            session = batch.session
            if session is not None:  # interrupted or failed mid-batch: none of it reported
                with contextlib.suppress(Exception):
                    await session.rollback()
                state.audit.release(session)
                with contextlib.suppress(Exception):
                    await session.close()
    return summary


def _read_ahead(lines: Iterator[tuple[int, bytes | None, int]], items: list[_Item],
                batch_lines: int, batch_bytes: int, exhausted: bool) -> bool:
    """Reads lines into `items` (which may hold lines a batch left) until they make a
    batch; True once the file is at its end."""
    counted = sum(1 for i in items if i.line is not None or i.result is not None)
    kept = sum(i.size for i in items)
    while not exhausted and counted < batch_lines and kept < batch_bytes:
        entry = next(lines, None)
        if entry is None:
            return True
        number, raw, consumed = entry
        item = _Item(number, consumed)
        parsed = parse_line(raw)
        if isinstance(parsed, str):
            item.result = ("invalid", Problem(number, "invalid", "BAD_LINE", reason=parsed))
        elif parsed is not None:
            item.line = _Line(number, 0, *parsed)
            item.size = len(raw or b"")
            kept += item.size
        counted += item.line is not None or item.result is not None
        items.append(item)
    return exhausted


async def _run_batch(state: AppState, principal: Principal, run: str, batch: _Batch,
                     items: list[_Item], batch_seconds: float, stop: asyncio.Event | None,
                     staged: bool) -> list[_Item]:
    """Runs the items' lines in one transaction (`batch.session`, opened at the first line
    to run) until they are done, the batch's time is up, `stop` is set or a line makes the
    batch run again line by line; returns the items not run."""
    session: AsyncSession | None = None
    reports: ReportBatch | None = None
    rest: list[_Item] = []
    for index, item in enumerate(items):
        # Never within a run of judgment lines: the run locked all its lines' keys at once,
        # and cutting it would only read them again in the next batch.
        if batch.lines and reports is None and (
                time.monotonic() - batch.started >= batch_seconds
                or (stop is not None and stop.is_set())):
            rest = items[index:]
            break
        staging = staged and item.line is not None and item.line.kind == "JUDGMENT"
        if reports is not None and item.line is not None and not staging:
            # The run's rows first: this line reads the database.
            if not await _write_run(batch, reports):
                return items[index:]
            reports = None
        batch.consumed += item.consumed
        batch.last = item.number
        if item.result is not None:
            batch.results.append(item.result)
        line = item.line
        if line is None:
            continue
        if session is None:
            session = batch.session = state.database.sessions()
            await _begin(session)
        line.slot = len(batch.results)
        if staging:
            if reports is None:
                reports = await _read_run(state, principal, session, items[index:])
            if not await _run_staged(state, principal, run, session, batch, line, reports):
                return items[index + 1:]
            continue
        response, ctx, records = await run_nested_operation(
            state, session, principal, f"import-{run}-{line.number}",
            OPERATIONS[line.kind][1], {"input": line.input}, OPERATIONS[line.kind][0],
            batch.agencies.prime)
        _line_done(session, batch, line, response, ctx, records)
    if reports is not None:
        await _write_run(batch, reports)
    return rest


async def _read_run(state: AppState, principal: Principal, session: AsyncSession,
                    items: list[_Item]) -> ReportBatch:
    """The set-wise reads of the run of judgment lines that starts `items`."""
    inputs = []
    for item in items:
        if item.line is not None:
            if item.line.kind != "JUDGMENT":
                break
            inputs.append(item.line.input)
    sender = await state.agencies.get(session, principal.agency) if principal.agency else None
    reports = ReportBatch(session, sender.id or 0 if sender is not None else 0, len(inputs))
    await reports.read(inputs)
    return reports


async def _run_staged(state: AppState, principal: Principal, run: str, session: AsyncSession,
                      batch: _Batch, line: _Line, reports: ReportBatch) -> bool:
    """One judgment line, its reads and writes the run's (schema/batch.py); False when it
    failed after it staged rows, and the batch must run again line by line."""
    def prepare(ctx: Context) -> None:
        batch.agencies.prime(ctx)
        ctx.batch = reports

    reports.line_staged = 0
    response, ctx, records = await run_nested_operation(
        state, session, principal, f"import-{run}-{line.number}", OPERATIONS[line.kind][1],
        {"input": line.input}, OPERATIONS[line.kind][0], prepare, savepoint=False)
    errors = response.get("errors") or []
    if errors and (reports.line_staged or any(
            (e.get("extensions") or {}).get("code") not in _CLEAN_REFUSALS for e in errors)):
        batch.results.append(("failed", None))  # its answer is that of its run alone
        batch.lines.append(line)
        batch.redo = True
        return False
    _line_done(session, batch, line, response, ctx, records)
    return True


async def _write_run(batch: _Batch, reports: ReportBatch) -> bool:
    """Writes the run's staged rows; False (and the batch to run again line by line) if
    they could not be written."""
    try:
        await reports.write()
    except Exception as error:  # noqa: BLE001 - every line of the batch runs again
        log.warning("import batch up to line %d: its judgment rows could not be written (%s): "
                    "running its lines one by one", batch.last, type(error).__name__)
        batch.redo = True
        return False
    return True


def _line_done(session: AsyncSession, batch: _Batch, line: _Line, response: dict[str, Any],
               ctx: Context, records: list[AuditRecord]) -> None:
    if "errors" not in response:
        batch.agencies.take(ctx)
    # Each line starts from the database as the line before it left it, as a transaction
    # of its own would: nothing read by one line is held for the next (and the batch's
    # memory does not grow with its lines).
    session.expunge_all()
    batch.results.append(judge_response(response, ctx.notice_outcome, line.number))
    batch.lines.append(line)
    batch.records.extend(records)
    batch.policy_changed |= ctx.policy_changed


async def _begin(session: AsyncSession) -> None:
    """Opens the batch's transaction. On SQLite a no-op write opens it for real (and takes
    the database's write lock, which any writer takes first): the driver begins only before
    a write, and a SAVEPOINT outside a transaction would commit on its release."""
    await session.begin()
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("UPDATE notice SET id = id WHERE 1 = 0"))


async def _finish(state: AppState, principal: Principal, run: str,
                  session: AsyncSession | None, batch: _Batch, summary: Summary,
                  progress: Callable[[int], object]) -> None:
    """Commits the batch with its audit events and reports its lines; if the commit fails,
    runs them again, one transaction each."""
    if session is not None and batch.redo:
        with contextlib.suppress(Exception):
            await session.rollback()
        state.audit.release(session)
        with contextlib.suppress(Exception):
            await session.close()
        batch.results = await _one_by_one(state, principal, run, batch)
    elif session is not None:
        try:
            try:
                if batch.records:
                    await state.audit.append(session, batch.records)
                await session.commit()
            finally:
                state.audit.release(session)
        except Exception as error:  # noqa: BLE001 - every line is retried and reported
            log.warning("import batch of lines %d to %d did not commit (%s): retrying them one "
                        "by one", batch.lines[0].number, batch.last, type(error).__name__)
            with contextlib.suppress(Exception):
                await session.rollback()
            with contextlib.suppress(Exception):
                await session.close()
            # Should the commit have gone through after all (the answer to it lost), the
            # lines come back as duplicates: none is reported registered twice.
            batch.results = await _one_by_one(state, principal, run, batch)
        else:
            await session.close()
        if batch.policy_changed:
            await state.policies.refresh()
    for outcome, problem in batch.results:
        summary.lines += 1
        summary.add(outcome, problem)
    progress(batch.consumed)


async def _one_by_one(state: AppState, principal: Principal, run: str,
                      batch: _Batch) -> list[tuple[str, Problem | None]]:
    """The batch's outcomes, its lines run again as the API runs operations: one transaction
    each, committed with its audit events."""
    results = list(batch.results)
    for line in batch.lines:
        response, ctx = await run_operation(
            state, principal, f"import-{run}-{line.number}", OPERATIONS[line.kind][1],
            {"input": line.input}, OPERATIONS[line.kind][0])
        results[line.slot] = judge_response(response, ctx.notice_outcome, line.number)
    return results


async def importer_principal(state: AppState, agency_code: str, sub: str | None) -> Principal:
    """An officer of the importing agency, with the role its kind has."""
    async with state.database.session() as session:
        agency = await session.scalar(select(Agency).where(col(Agency.code) == agency_code))
    if agency is None:
        raise ValueError(f"--agency {agency_code}: no such agency")
    subject = sub if sub is not None else f"import:{agency.code}"
    if not subject.strip() or len(subject) > 200:
        raise ValueError("--sub must be 1 to 200 characters")
    return Principal(sub=subject, role=ROLE_BY_AGENCY_KIND[agency.kind], agency=agency.code,
                     id_number=None, scopes=frozenset(), client_id=CLIENT_ID, token_id=None,
                     authenticated=True)


def cmd_import_notices(settings: Settings, path: str, *, agency: str, sub: str | None,
                       progress: bool, as_json: bool) -> int:
    """The CLI command: 0 when every line was registered, a duplicate or queued; 1 when
    any line was invalid, a conflict, forbidden or failed."""
    from tqdm import tqdm

    from api.app import build_state

    try:
        stream = open(path, "rb")
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror}") from None

    async def go() -> Summary:
        from db.audit import CheckpointWriter

        state = build_state(settings)
        stop = _stop_on_interrupt()
        # The import appends audit events as the service does, so it hands checkpoints of
        # the head to the witness as the service does: now, periodically and at the end.
        checkpoints = CheckpointWriter(state.database, state.audit.keys,
                                       settings.audit_witness_path,
                                       settings.audit_checkpoint_seconds)
        writer = asyncio.create_task(checkpoints.run())
        try:
            principal = await importer_principal(state, agency, sub)
            # By bytes, so no pass counts the lines first; off where stderr is no terminal.
            with tqdm(total=os.fstat(stream.fileno()).st_size, unit="B", unit_scale=True,
                      unit_divisor=1024, desc="import", file=sys.stderr,
                      disable=None if progress else True, mininterval=0.5) as bar:
                return await import_notices(state, principal, stream, bar.update, stop)
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            await checkpoints.write()
            await state.database.dispose()

    with stream:
        try:
            summary = asyncio.run(go())
        except KeyboardInterrupt:
            print("registry: aborted; the batch of lines in hand rolled back, the lines before "
                  "it are done: run the same file again to finish", file=sys.stderr)
            return 130
    print(json.dumps(summary.as_json()) if as_json else summary.text())
    return summary.exit_code


def _stop_on_interrupt() -> asyncio.Event:
    """The first Ctrl-C (or SIGTERM) lets the batch in hand finish (commit) and ends the
    import with its summary; a second Ctrl-C interrupts at once (that batch then rolls back,
    none of its lines done)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def first(signum: int) -> None:
        stop.set()
        loop.remove_signal_handler(signum)
        print("\nregistry: stopping after the current batch (Ctrl-C again to abort)",
              file=sys.stderr)

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, first, signum)
        except (NotImplementedError, RuntimeError):  # no signals here (Windows, a thread)
            pass
    return stop
