"""`registry import notices FILE.jsonl`: bulk loading for an agency's existing system.

Each line is one JSON object, `{"kind": "JUDGMENT" | "RELEASE" | "CORRECTION_EXPIRY",
"input": {...}}`, whose `input` is exactly the GraphQL input of `reportJudgment`,
`reportRelease` or `reportCorrectionExpiry` (CONTRACT.md §4). Every line runs as that
mutation through `run_operation`, the HTTP endpoint's own runner, for a principal of the
importing agency: validation, the policy decision, idempotency and the audit events are the
API's by construction, one transaction per line. Nothing here decides who may report.

The file is read one line at a time (a line larger than the API's body limit is skipped
unread), so memory does not grow with the file. Only line numbers, error codes and field
names are ever printed: never an identity number or anything else a line contains.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from sqlmodel import col, select

from api.auth import Principal
from api.graphql import MAX_BODY_BYTES, run_operation
from api.settings import Settings
from api.state import AppState
from db.models import Agency

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


async def import_notices(state: AppState, principal: Principal, stream: IO[bytes],
                         progress: Callable[[int], object] = lambda n: None,
                         stop: asyncio.Event | None = None) -> Summary:
    """Runs every line of `stream` as its mutation, in order, one transaction each.
    `progress` receives the bytes consumed after each line; once `stop` is set, the import
    ends after the line in hand."""
    summary = Summary()
    run = uuid.uuid4().hex[:12]
    for number, raw, consumed in read_lines(stream):
        if stop is not None and stop.is_set():
            summary.stopped_after = number - 1
            break
        parsed = parse_line(raw)
        if parsed is not None:
            summary.lines += 1
            if isinstance(parsed, str):
                summary.add("invalid", Problem(number, "invalid", "BAD_LINE", reason=parsed))
            else:
                operation_name, query = OPERATIONS[parsed[0]]
                response, ctx = await run_operation(
                    state, principal, f"import-{run}-{number}", query, {"input": parsed[1]},
                    operation_name)
                summary.add(*judge_response(response, ctx.notice_outcome, number))
        progress(consumed)
    return summary


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
            print("registry: aborted; the line in hand rolled back, the lines before it are "
                  "done: run the same file again to finish", file=sys.stderr)
            return 130
    print(json.dumps(summary.as_json()) if as_json else summary.text())
    return summary.exit_code


def _stop_on_interrupt() -> asyncio.Event:
    """The first Ctrl-C (or SIGTERM) lets the line in hand finish and ends the import with
    its summary; a second Ctrl-C interrupts at once (that line then rolls back)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def first(signum: int) -> None:
        stop.set()
        loop.remove_signal_handler(signum)
        print("\nregistry: stopping after the current line (Ctrl-C again to abort)",
              file=sys.stderr)

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, first, signum)
        except (NotImplementedError, RuntimeError):  # no signals here (Windows, a thread)
            pass
    return stop
