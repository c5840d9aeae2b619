"""`registry import notices` (issue 3): each line reported as the API would, on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sys
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, func, select

from api.app import build_state
from api.auth import ROLES
from api.cli import main
from api.graphql import run_operation
from api.importer import (
    BATCH_LINES,
    OPERATIONS,
    ROLE_BY_AGENCY_KIND,
    Summary,
    import_notices,
    importer_principal,
    judge_response,
    parse_line,
    read_lines,
)
from api.settings import Settings
from db.audit import verify_chain
from db.models import Agency, AuditEvent, ExecutionEvent, Judgment, Notice, Offender, SealEvent
from db.models.agencies import AGENCY_KINDS
from tests.api.conftest import prepare
from tests.conftest import _truncate as truncate
from tests.factories import report_input


@pytest.fixture
async def settings(database_url: str, tmp_path: Path) -> Settings:
    """The default policy window (1 s): an agency stays cached across lines."""
    await prepare(database_url)
    return Settings(database_url=database_url, signing_key_file=str(tmp_path / "key.pem"))


def jsonl(*lines: Any) -> bytes:
    return b"".join((line if isinstance(line, str) else json.dumps(line)).encode() + b"\n"
                    for line in lines)


def judgment(**overrides: Any) -> dict[str, Any]:
    return {"kind": "JUDGMENT", "input": report_input(**overrides)}


def execution(kind: str, report: dict[str, Any], number: str, **overrides: Any) -> dict[str, Any]:
    date_field = "releaseDate" if kind == "RELEASE" else "expiryDate"
    value = {"noticeNumber": number, "judgmentNumber": report["judgmentNumber"],
             "idNumber": report["defendant"]["idNumber"], date_field: "2026-10-01"}
    return {"kind": kind, "input": {**value, **overrides}}


async def run_import(settings: Settings, agency: str, content: bytes,
                     sub: str | None = None, batch_lines: int = BATCH_LINES,
                     staged: bool = True) -> Summary:
    state = build_state(settings)
    try:
        principal = await importer_principal(state, agency, sub)
        return await import_notices(state, principal, io.BytesIO(content),
                                    batch_lines=batch_lines, batch_seconds=60, staged=staged)
    finally:
        await state.database.dispose()


async def count(settings: Settings, model: Any, *where: Any) -> int:
    state = build_state(settings)
    try:
        async with state.database.session() as session:
            return int(await session.scalar(
                select(func.count()).select_from(model).where(*where)) or 0)
    finally:
        await state.database.dispose()


def problems(summary: Summary) -> list[tuple[int, str, str | None]]:
    return [(p.line, p.outcome, p.field) for p in summary.problems]


async def test_an_import_file_with_duplicates_conflicts_bad_lines_and_unmatched_notices_gives_an_exact_summary(  # noqa: E501
        settings: Settings) -> None:
    first, second = report_input(), report_input()
    changed = {**first, "prosecutor": "Another Procuratorate"}
    bad_id = report_input(defendant={"idNumber": "110101199005170000"})
    bad_date = {**report_input(), "judgmentDate": "not a date"}
    court = jsonl(
        {"kind": "JUDGMENT", "input": first},                      # 1 registered
        {"kind": "JUDGMENT", "input": second},                     # 2 registered
        {"kind": "JUDGMENT", "input": first},                      # 3 duplicate
        {"kind": "JUDGMENT", "input": changed},                    # 4 conflict
        "this is not JSON",                                        # 5 invalid
        {"kind": "JUDGMENT", "input": bad_id},                     # 6 invalid field
        judgment(defendant={"residenceRegion": "440101"}),         # 7 queued: no authority
        judgment(defendant={"idNumber": first["defendant"]["idNumber"],
                            "name": "Li Na"}),                     # 8 queued: identity
        "   ",                                                     # 9 blank: skipped
        {"kind": "DETENTION", "input": report_input()},            # 10 invalid kind
        "[1, 2]",                                                  # 11 invalid: not an object
        {"kind": "JUDGMENT"},                                      # 12 invalid: no input
        {"kind": "JUDGMENT", "input": bad_date},                   # 13 invalid field
    )
    summary = await run_import(settings, "COURT-110101", court)
    assert summary.counts == {"registered": 2, "duplicate": 1, "conflict": 1, "queued": 2,
                              "invalid": 6, "forbidden": 0, "failed": 0}
    assert summary.lines == 12
    assert problems(summary) == [
        (4, "conflict", "input.noticeNumber"), (5, "invalid", None),
        (6, "invalid", "input.defendant.idNumber"), (10, "invalid", None),
        (11, "invalid", None), (12, "invalid", None), (13, "invalid", "input.judgmentDate")]
    assert summary.exit_code == 1
    assert await count(settings, Judgment) == 2
    assert await count(settings, Offender) == 2
    assert await count(settings, Notice) == 4
    assert await count(settings, Notice, col(Notice.status) == "UNMATCHED") == 2
    text = summary.text()
    assert text.splitlines()[0] == \
        "registered 2  duplicate 1  conflict 1  queued 2  invalid 6  forbidden 0"
    assert "invalid: line 6 (input.defendant.idNumber: is not a valid" in text
    for person in (first, second, bad_id, bad_date):
        assert person["defendant"]["idNumber"] not in text
    assert "not a date" not in text

    prison = jsonl(
        execution("RELEASE", first, "R-1"),                                    # registered
        execution("RELEASE", first, "R-1"),                                    # duplicate
        execution("RELEASE", {**second, "judgmentNumber": "(2026) unknown"}, "R-2"),  # queued
        execution("RELEASE", second, "R-3", releaseDate="2026-13-01"),         # invalid
        execution("RELEASE", second, "R-1"),                                   # conflict
    )
    summary = await run_import(settings, "PRISON-110000", prison)
    assert summary.counts == {"registered": 1, "duplicate": 1, "conflict": 1, "queued": 1,
                              "invalid": 1, "forbidden": 0, "failed": 0}
    assert problems(summary) == [(4, "invalid", "input.releaseDate"),
                                 (5, "conflict", "input.noticeNumber")]
    summary = await run_import(settings, "JA-110101", jsonl(
        execution("CORRECTION_EXPIRY", second, "E-1")))
    assert summary.counts["registered"] == 1
    assert await count(settings, ExecutionEvent, col(ExecutionEvent.kind) == "RELEASED") == 1
    assert await count(settings, ExecutionEvent,
                       col(ExecutionEvent.kind) == "CORRECTION_EXPIRED") == 1
    assert await count(settings, Notice, col(Notice.status) == "UNMATCHED") == 3


async def test_importing_the_same_file_twice_registers_nothing_new(settings: Settings) -> None:
    content = jsonl(judgment(), judgment(), judgment(),
                    judgment(defendant={"residenceRegion": "440101"}))
    first = await run_import(settings, "COURT-110101", content)
    assert (first.counts["registered"], first.counts["queued"], first.exit_code) == (3, 1, 0)
    again = await run_import(settings, "COURT-110101", content)
    assert again.counts == {"registered": 0, "duplicate": 4, "conflict": 0, "queued": 0,
                            "invalid": 0, "forbidden": 0, "failed": 0}
    assert again.exit_code == 0
    assert await count(settings, Judgment) == 3
    assert await count(settings, Notice) == 4


async def test_an_import_is_authorized_and_audited_like_the_api(settings: Settings) -> None:
    report = report_input()
    # A procuratorate may not report judgments, nor a prison; a court may not report releases.
    for agency, line in (("PROC-110101", judgment()), ("PRISON-110000", judgment()),
                         ("COURT-110101", execution("RELEASE", report, "R-9"))):
        summary = await run_import(settings, agency, jsonl(line, line))
        assert summary.counts["forbidden"] == 2, agency
        assert problems(summary) == [(1, "forbidden", None), (2, "forbidden", None)]
    assert await count(settings, Judgment) == 0
    assert await count(settings, Notice) == 0

    summary = await run_import(settings, "COURT-110101",
                               jsonl({"kind": "JUDGMENT", "input": report}), sub="clerk.batch")
    assert summary.counts["registered"] == 1
    state = build_state(settings)
    try:
        async with state.database.session() as session:
            events = (await session.scalars(select(AuditEvent).order_by(
                col(AuditEvent.seq)))).all()
            assert (await verify_chain(session, state.audit.keys)).intact
    finally:
        await state.database.dispose()
    denials = [(e.sub, e.role, e.action, e.outcome) for e in events if e.outcome == "deny"]
    assert ("import:PROC-110101", "prosecutor", "judgment:report", "deny") in denials
    assert ("import:PRISON-110000", "prison_officer", "judgment:report", "deny") in denials
    assert ("import:COURT-110101", "judge", "notice:report", "deny") in denials
    assert len([d for d in denials if d[2].endswith(":report")]) == 6  # one per line
    [permit] = [e for e in events if e.action == "judgment:report" and e.outcome == "permit"
                and e.policy_uid]
    assert (permit.sub, permit.agency, permit.client_id, permit.operation) == \
        ("clerk.batch", "COURT-110101", "registry-import", "ImportJudgment")
    assert permit.request_id.startswith("import-") and permit.request_id.endswith("-1")
    assert permit.policy_uid == "court.judge-reports-judgments"
    assert not await asyncio.to_thread(Path(settings.signing_key_file).exists)
    # Every agency kind has a role, so every agency is put to the policies, none turned away.
    assert set(ROLE_BY_AGENCY_KIND) == set(AGENCY_KINDS)
    assert set(ROLE_BY_AGENCY_KIND.values()) <= ROLES


class LineByLineOnly(io.BytesIO):
    """A file that counts the lines taken from it and refuses to be read whole."""

    def __init__(self, content: bytes) -> None:
        super().__init__(content)
        self.taken = 0

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.taken += bool(line)
        return line

    def read(self, size: int | None = -1) -> bytes:
        raise AssertionError("the importer read the file whole")

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        raise AssertionError("the importer read the file whole")


async def test_the_import_reads_the_file_line_by_line_and_reports_each_batch_once_committed(
        settings: Settings, tmp_path: Path) -> None:
    content = jsonl(*[judgment() for _ in range(20)], "not JSON", judgment())
    stream = LineByLineOnly(content)
    taken_when_done: list[int] = []
    done_bytes: list[int] = []
    state = build_state(settings)
    try:
        principal = await importer_principal(state, "COURT-110101", None)

        def progress(consumed: int) -> None:
            taken_when_done.append(stream.taken)
            done_bytes.append(consumed)

        summary = await import_notices(state, principal, stream, progress, batch_lines=5,
                                       batch_seconds=60)
        # Lines are taken one at a time, and a batch is reported (its bytes to the progress
        # bar) once its five lines are committed, before the next line is taken.
        assert taken_when_done == [5, 10, 15, 20, 22]
        assert sum(done_bytes) == len(content)
        assert (summary.counts["registered"], summary.counts["invalid"]) == (21, 1)

        # Memory does not grow with the file: 8 MiB of lines (and one line larger than the
        # API's body limit) are processed holding a small fraction of it at any time.
        path = tmp_path / "big.jsonl"
        line = {"kind": "UNKNOWN", "input": {"padding": "x" * 4000}}
        with path.open("wb") as handle:
            handle.write(b"[" + b" " * (1024 * 1024) + b"]\n")
            handle.write(jsonl(*[line] * 2048))
        size = path.stat().st_size
        tracemalloc.start()
        try:
            with path.open("rb") as handle:
                summary = await import_notices(state, principal, handle)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    finally:
        await state.database.dispose()
    assert (summary.counts["invalid"], summary.unlisted) == (2049, 2049 - 100)
    assert [(p.line, p.reason) for p in summary.problems[:2]] == [
        (1, "line longer than 262144 bytes"), (2, "kind must be one of JUDGMENT, RELEASE, "
                                                  "CORRECTION_EXPIRY")]
    assert size > 8 * 1024 * 1024
    assert peak < size / 8, (peak, size)


async def test_an_interrupted_import_ends_after_the_batch_in_hand_and_says_where(
        settings: Settings) -> None:
    stop = asyncio.Event()
    state = build_state(settings)
    try:
        principal = await importer_principal(state, "COURT-110101", None)
        summary = await import_notices(
            state, principal, io.BytesIO(jsonl(*[judgment() for _ in range(5)])),
            lambda consumed: stop.set(),  # what the first Ctrl-C does, during the first batch
            stop, batch_lines=2, batch_seconds=60)
    finally:
        await state.database.dispose()
    assert (summary.counts["registered"], summary.stopped_after) == (2, 2)
    assert summary.exit_code == 130
    assert "interrupted after line 2" in summary.text()
    assert await count(settings, Judgment) == 2


def test_the_cli_prints_the_summary_and_exits_non_zero_on_invalid_lines(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(prepare(database_url))
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("REGISTRY_SIGNING_KEY_FILE", str(tmp_path / "key.pem"))
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    reports = [judgment(), judgment()]
    good.write_bytes(jsonl(*reports))
    bad.write_bytes(jsonl(judgment(), "{oops", *["nope"] * 120))

    with monkeypatch.context() as terminal:
        terminal.setattr(sys.stderr, "isatty", lambda: True)
        assert main(["import", "notices", str(good), "--agency", "COURT-110101"]) == 0
    captured = capsys.readouterr()
    printed = captured.out
    assert captured.out.strip() == \
        "registered 2  duplicate 0  conflict 0  queued 0  invalid 0  forbidden 0"
    assert "100%" in captured.err  # the progress bar, on stderr where it is a terminal

    # No terminal, no bar (and --no-progress switches it off anywhere).
    assert main(["import", "notices", str(bad), "--agency", "COURT-110101"]) == 1
    captured = capsys.readouterr()
    printed += captured.out
    out = captured.out.splitlines()
    assert out[0] == "registered 1  duplicate 0  conflict 0  queued 0  invalid 121  forbidden 0"
    assert out[1:3] == ["invalid: line 2 (not JSON)", "invalid: line 3 (not JSON)"]
    assert len(out) == 1 + 100 + 1 and out[-1] == "... and 21 more lines with problems"
    assert captured.err == ""

    assert main(["import", "notices", str(good), "--agency", "COURT-110101", "--no-progress",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["duplicate"], result["lines"], result["problems"]) == (2, 2, [])

    assert main(["import", "notices", str(good), "--agency", "NO-SUCH-COURT"]) == 2
    assert "--agency" in capsys.readouterr().err
    assert main(["import", "notices", str(tmp_path / "missing.jsonl"), "--agency",
                 "COURT-110101"]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
    for report in reports:
        assert report["input"]["defendant"]["idNumber"] not in printed
    assert not (tmp_path / "key.pem").exists()

    # Each import handed the chain's head to the witness as it ended (DESIGN.md §1.5).
    capsys.readouterr()
    assert main(["audit", "verify"]) == 0
    intact, witnessed = capsys.readouterr().out.splitlines()
    events = intact.removeprefix("audit chain intact: ").removesuffix(" events")
    assert witnessed.endswith(f", the newest at event {events}"), witnessed


# -- batches (issue 13): one transaction per batch, a SAVEPOINT per line ---------------------

ID = re.compile(r"(?<![\w-])([a-z]+)_[\w-]{16}(?![\w-])")  # db/ids.new_id
UNSEALED = ("seq", "event_id", "at", "hash", "prev_hash", "key_id")


async def trail(settings: Settings) -> list[dict[str, Any]]:
    """The audit trail as content: every column but its place in the chain and its seal,
    the run's id out of the request ids, each public id named by its first appearance (the
    ids are random, the structure is not), and so is the policy set's version (its row ids,
    which a database recreated by the test does not restart)."""
    state = build_state(settings)
    try:
        async with state.database.session() as session:
            events = (await session.scalars(select(AuditEvent).order_by(
                col(AuditEvent.seq)))).all()
            assert (await verify_chain(session, state.audit.keys)).intact
    finally:
        await state.database.dispose()
    names: dict[str, str] = {}
    versions: dict[int, int] = {0: 0}

    def name(match: re.Match[str]) -> str:
        return names.setdefault(match.group(0), f"{match.group(1)}#{len(names) + 1}")

    rows = []
    for event in events:
        row = {k: v for k, v in event.model_dump().items() if k not in UNSEALED}
        row["request_id"] = re.sub(r"^import-[0-9a-f]{12}-", "import-RUN-", row["request_id"])
        row["policy_version"] = versions.setdefault(row["policy_version"], len(versions))
        rows.append(json.loads(ID.sub(name, json.dumps(row, sort_keys=True, default=str))))
    return rows


async def line_by_line(settings: Settings, agency: str, content: bytes) -> list[str]:
    """The importer before batches: each line through `run_operation`, one transaction
    each (the reference the batched import must equal)."""
    state = build_state(settings)
    outcomes = []
    try:
        principal = await importer_principal(state, agency, None)
        run = uuid.uuid4().hex[:12]
        for number, raw, _ in read_lines(io.BytesIO(content)):
            parsed = parse_line(raw)
            if isinstance(parsed, tuple):
                name, query = OPERATIONS[parsed[0]]
                response, ctx = await run_operation(state, principal, f"import-{run}-{number}",
                                                    query, {"input": parsed[1]}, name)
                outcomes.append(judge_response(response, ctx.notice_outcome, number)[0])
    finally:
        await state.database.dispose()
    return outcomes


def mixed_file() -> tuple[bytes, bytes]:
    """A court's file with every outcome, and a prison's about the same people."""
    first, second, minor = report_input(), report_input(), report_input(
        defendant={"birthDate": "2010-01-05"}, offenseDate="2026-02-01",
        penalty={"kind": "FIXED_TERM_IMPRISONMENT", "termMonths": 6})
    court = jsonl(
        {"kind": "JUDGMENT", "input": first},                                  # registered
        {"kind": "JUDGMENT", "input": minor},                                  # sealed
        {"kind": "JUDGMENT", "input": first},                                  # duplicate
        {"kind": "JUDGMENT", "input": {**first, "prosecutor": "Another"}},     # conflict
        "not JSON",                                                            # bad line
        judgment(defendant={"idNumber": "110101199005170000"}),               # invalid field
        judgment(defendant={"residenceRegion": "440101"}),                    # queued
        {"kind": "JUDGMENT", "input": second},                                 # registered
        {"kind": "JUDGMENT", "input": {**report_input(), "judgmentNumber":
                                       second["judgmentNumber"]}},            # conflict
        {"kind": "RELEASE", "input": execution("RELEASE", first, "R-0")["input"]},  # forbidden
        judgment(defendant={"idNumber": minor["defendant"]["idNumber"],       # the minor's
                            "birthDate": "2010-01-05"}),                       # second
    )
    prison = jsonl(execution("RELEASE", first, "R-1"), execution("RELEASE", first, "R-1"),
                   execution("RELEASE", second, "R-1"))
    return court, prison


async def test_the_audit_trail_of_a_batched_import_is_the_line_by_line_one(
        settings: Settings, database_url: str) -> None:
    court, prison = mixed_file()
    expected = [await line_by_line(settings, "COURT-110101", court),
                await line_by_line(settings, "PRISON-110000", prison)]
    assert expected[0] == ["registered", "registered", "duplicate", "conflict", "invalid",
                           "queued", "registered", "conflict", "forbidden", "registered"]
    reference = await trail(settings)
    for batch_lines in (BATCH_LINES, 3):  # the files in one batch each, and in batches of 3
        truncate(database_url)
        await prepare(database_url)
        batched = [await run_import(settings, "COURT-110101", court, batch_lines=batch_lines),
                   await run_import(settings, "PRISON-110000", prison, batch_lines=batch_lines)]
        assert [p.outcome for p in batched[0].problems] == ["conflict", "invalid", "invalid",
                                                             "conflict", "forbidden"]
        assert batched[0].counts == {"registered": 4, "duplicate": 1, "conflict": 2,
                                     "queued": 1, "invalid": 2, "forbidden": 1, "failed": 0}
        assert batched[1].counts["registered"] == 1 and batched[1].counts["duplicate"] == 1
        events = await trail(settings)
        assert len(events) == len(reference) > 20
        assert events == reference, batch_lines


class FailOn:
    """Makes the resolver fail after it wrote: the seal decision of one judgment number."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, judgment_number: str) -> None:
        import schema.reporting

        original = schema.reporting.redecide_seals

        async def redecide(ctx: Any, offender: Any, *, new: Any = None, **kw: Any) -> Any:
            if new is not None and new.judgment_number == judgment_number:
                raise RuntimeError("the disk is full")
            return await original(ctx, offender, new=new, **kw)

        monkeypatch.setattr(schema.reporting, "redecide_seals", redecide)


async def test_a_failing_line_in_a_batch_rolls_back_alone_and_the_rest_register(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    reports = [report_input() for _ in range(5)]
    FailOn(monkeypatch, reports[2]["judgmentNumber"])  # its person and judgment are written
    summary = await run_import(settings, "COURT-110101",
                               jsonl(*[{"kind": "JUDGMENT", "input": r} for r in reports]))
    assert summary.counts["registered"] == 4 and summary.counts["failed"] == 1
    assert [(p.line, p.outcome, p.code) for p in summary.problems] == [(3, "failed", "INTERNAL")]
    assert await count(settings, Judgment) == 4
    assert await count(settings, Notice) == 4
    assert await count(settings, Offender) == 4
    assert await count(settings, Offender, col(Offender.id_number) ==
                       reports[2]["defendant"]["idNumber"]) == 0
    # Its decision is in the trail as the API's would be, with its error.
    [failed] = [e for e in await trail(settings) if e["request_id"] == "import-RUN-3"]
    assert (failed["action"], failed["outcome"]) == ("judgment:report", "permit")
    assert failed["detail"]["errors"]


async def test_a_batch_appends_its_audit_events_once_and_commits_once(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    state = build_state(settings)
    appends: list[int] = []
    original = state.audit.append

    async def append(session: Any, records: Any) -> Any:
        appends.append(len(records))
        return await original(session, records)

    monkeypatch.setattr(state.audit, "append", append)
    try:
        principal = await importer_principal(state, "COURT-110101", None)
        summary = await import_notices(
            state, principal, io.BytesIO(jsonl(*[judgment() for _ in range(25)])),
            batch_lines=10, batch_seconds=60)
    finally:
        await state.database.dispose()
    assert summary.counts["registered"] == 25
    assert len(appends) == 3 and sum(appends) == len(await trail(settings))


async def test_a_batch_whose_commit_fails_runs_again_line_by_line_and_nothing_is_counted_twice(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    state = build_state(settings)
    original = state.audit.append
    failures = [RuntimeError("connection lost at commit")]

    async def append(session: Any, records: Any) -> Any:
        if failures:
            raise failures.pop()
        return await original(session, records)

    monkeypatch.setattr(state.audit, "append", append)
    content = jsonl(*[judgment() for _ in range(6)], "not JSON", judgment())
    try:
        principal = await importer_principal(state, "COURT-110101", None)
        summary = await import_notices(state, principal, io.BytesIO(content),
                                       batch_lines=4, batch_seconds=60)
    finally:
        await state.database.dispose()
    assert summary.counts == {"registered": 7, "duplicate": 0, "conflict": 0, "queued": 0,
                              "invalid": 1, "forbidden": 0, "failed": 0}
    assert summary.lines == 8 and problems(summary) == [(7, "invalid", None)]
    assert await count(settings, Judgment) == 7
    # The first batch's lines were done one transaction each, with their own events.
    events = await trail(settings)
    assert [e["request_id"] for e in events if e["action"] == "judgment:report"
            and e["outcome"] == "permit" and e["policy_uid"]] == \
        [f"import-RUN-{n}" for n in (1, 2, 3, 4, 5, 6, 8)]


async def test_an_import_killed_mid_batch_leaves_no_line_half_done_and_a_rerun_finishes_it(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import api.importer

    content = jsonl(*[judgment() for _ in range(7)])
    original = api.importer.run_nested_operation
    calls = 0

    async def killed(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 6:  # the second batch's third line: the second Ctrl-C cancels the import
            raise asyncio.CancelledError
        return await original(*args, **kwargs)

    monkeypatch.setattr(api.importer, "run_nested_operation", killed)
    with pytest.raises(asyncio.CancelledError):
        await run_import(settings, "COURT-110101", content, batch_lines=3)
    # The first batch is done; of the second, nothing: no person, judgment, notice or event.
    assert await count(settings, Judgment) == 3
    assert await count(settings, Offender) == 3
    assert await count(settings, Notice) == 3
    assert {e["request_id"] for e in await trail(settings)} == \
        {f"import-RUN-{n}" for n in (1, 2, 3)}

    monkeypatch.undo()
    again = await run_import(settings, "COURT-110101", content, batch_lines=3)
    assert (again.counts["duplicate"], again.counts["registered"]) == (3, 4)
    assert await count(settings, Judgment) == 7


async def test_a_rerun_of_a_file_in_many_batches_gives_only_duplicates(
        settings: Settings) -> None:
    content = jsonl(*[judgment() for _ in range(12)], execution("RELEASE", report_input(), "X"))
    first = await run_import(settings, "COURT-110101", content, batch_lines=5)
    assert (first.counts["registered"], first.counts["forbidden"]) == (12, 1)
    again = await run_import(settings, "COURT-110101", content, batch_lines=5)
    assert (again.counts["duplicate"], again.counts["forbidden"]) == (12, 1)
    assert await count(settings, Judgment) == 12


async def test_a_batch_ends_once_it_holds_its_bytes_of_lines_so_memory_stays_bounded(
        settings: Settings) -> None:
    lines = [judgment() for _ in range(6)]
    size = min(len(jsonl(line)) for line in lines)
    batches: list[int] = []
    state = build_state(settings)
    try:
        principal = await importer_principal(state, "COURT-110101", None)
        summary = await import_notices(state, principal, io.BytesIO(jsonl(*lines)),
                                       batches.append, batch_bytes=2 * size - 1,
                                       batch_seconds=60)
    finally:
        await state.database.dispose()
    # A batch keeps its lines (to run them again should its commit fail): at most the
    # bytes asked for, and the line that reached them.
    assert len(batches) == 3 and summary.counts["registered"] == 6


# -- runs of judgment lines (issue 13): their reads set-wise, their rows staged ---------------

async def registry_rows(settings: Settings) -> dict[str, list[Any]]:
    """What the registry holds, as content: every column but the row's own ids and times, a
    row it references named by its natural key, each table in the order of its ids."""
    from db.models.records import JudgmentTally

    state = build_state(settings)
    try:
        async with state.database.session() as session:
            agencies = {a.id: a.code for a in (await session.scalars(select(Agency))).all()}
            people = {o.id: o for o in (await session.scalars(select(Offender))).all()}
            judgments = (await session.scalars(select(Judgment).order_by(
                col(Judgment.id)))).all()
            numbers = {j.id: j.judgment_number for j in judgments}
            notices = (await session.scalars(select(Notice).order_by(col(Notice.id)))).all()
            seals = (await session.scalars(select(SealEvent).order_by(
                col(SealEvent.id)))).all()
            tally = (await session.scalars(select(JudgmentTally))).all()
    finally:
        await state.database.dispose()
    skip = {"id", "public_id", "created_at", "updated_at", "at", "offender_id", "judgment_id"}

    def plain(row: Any, **named: Any) -> dict[str, Any]:
        values = {k: v for k, v in row.model_dump().items() if k not in skip}
        for name in ("court_agency_id", "authority_agency_id", "sender_agency_id",
                     "receiving_authority_id"):
            if name in values:  # by code: a database emptied by a test keeps its sequences
                values[name] = agencies.get(values[name])
        return {**values, **named}

    return {
        "people": [plain(o) for o in sorted(people.values(), key=lambda o: o.id or 0)],
        "judgments": [plain(j, person=people[j.offender_id].id_number) for j in judgments],
        "notices": [plain(n, judgment=numbers.get(n.judgment_id or 0)) for n in notices],
        "seal_events": [plain(e, judgment=numbers[e.judgment_id]) for e in seals],
        "tally": sorted((t.region, t.seal_status, t.verdict, t.n) for t in tally),
    }


RUN_ID = re.compile(r"import-[0-9a-f]{12}-")


def staged_file() -> tuple[bytes, dict[str, Any]]:
    """A court's file whose judgment lines come to every outcome, the lines a run stages
    read by the lines after it (a person, a notice, a judgment number, a person's
    judgments), and a person the registry held before (`known`, imported first)."""
    known = report_input()
    minor = report_input(defendant={"birthDate": "2010-01-05"}, offenseDate="2026-02-01",
                         penalty={"kind": "FIXED_TERM_IMPRISONMENT", "termMonths": 6})
    adult = report_input()
    content = jsonl(
        {"kind": "JUDGMENT", "input": minor},                                  # sealed
        {"kind": "JUDGMENT", "input": adult},                                  # registered
        {"kind": "JUDGMENT", "input": minor},                                  # duplicate
        {"kind": "JUDGMENT", "input": {**minor, "prosecutor": "Another"}},     # conflict
        {"kind": "JUDGMENT", "input": {**report_input(), "judgmentNumber":
                                       adult["judgmentNumber"]}},             # conflict
        judgment(defendant={"idNumber": "110101199005170000"}),               # invalid
        {"kind": "RELEASE", "input": execution("RELEASE", adult, "R-0")["input"]},  # forbidden
        {"kind": "JUDGMENT", "input": {**report_input(), "judgmentDate": "not a date"}},
        judgment(defendant={"residenceRegion": "440101"}),                    # queued
        judgment(defendant={**minor["defendant"], "name": "Li Na"}),          # queued
        "not JSON",
        judgment(defendant=minor["defendant"], offenseDate="2026-07-01",     # unseals the
                 penalty={"kind": "FIXED_TERM_IMPRISONMENT", "termMonths": 60}),  # minor's
        judgment(defendant=known["defendant"]),                               # a second
        judgment(defendant=known["defendant"]),                               # and a third
        {"kind": "JUDGMENT", "input": {**adult, "noticeNumber": f" {adult['noticeNumber']} "}},
    )
    return content, known


async def answers_line_by_line(settings: Settings, agency: str, content: bytes
                               ) -> list[tuple[dict[str, Any], tuple[str, Any]]]:
    """Each line's answer and result as the API gives them, one transaction a line."""
    state = build_state(settings)
    answers = []
    try:
        principal = await importer_principal(state, agency, None)
        run = uuid.uuid4().hex[:12]
        for number, raw, _ in read_lines(io.BytesIO(content)):
            parsed = parse_line(raw)
            if isinstance(parsed, tuple):
                name, query = OPERATIONS[parsed[0]]
                response, ctx = await run_operation(state, principal, f"import-{run}-{number}",
                                                    query, {"input": parsed[1]}, name)
                answers.append((json.loads(RUN_ID.sub("import-RUN-", json.dumps(response))),
                                judge_response(response, ctx.notice_outcome, number)))
    finally:
        await state.database.dispose()
    return answers


async def answers_batched(settings: Settings, monkeypatch: pytest.MonkeyPatch, agency: str,
                          content: bytes, **options: Any
                          ) -> tuple[list[dict[str, Any]], Summary]:
    """Each line's answer in a batched import, and the import's summary."""
    import api.importer

    responses = []
    original = api.importer.run_nested_operation

    async def recorded(*args: Any, **kwargs: Any) -> Any:
        response, ctx, records = await original(*args, **kwargs)
        responses.append(json.loads(RUN_ID.sub("import-RUN-", json.dumps(response))))
        return response, ctx, records

    with monkeypatch.context() as patch:
        patch.setattr(api.importer, "run_nested_operation", recorded)
        summary = await run_import(settings, agency, content, **options)
    return responses, summary


@pytest.mark.parametrize("variant", ["one batch", "batches of 4", "nothing read ahead",
                                     "no staging"])
async def test_a_batched_import_answers_writes_and_audits_each_line_as_the_api_does(
        settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch,
        variant: str) -> None:
    from schema.batch import ReportBatch

    content, known = staged_file()
    before = jsonl({"kind": "JUDGMENT", "input": known})
    assert (await run_import(settings, "COURT-110101", before)).counts["registered"] == 1
    expected = await answers_line_by_line(settings, "COURT-110101", content)
    assert [result[0] for _, result in expected] == [
        "registered", "registered", "duplicate", "conflict", "conflict", "invalid",
        "forbidden", "invalid", "queued", "queued", "registered", "registered", "registered",
        "conflict"]  # the same notice number, cleaned, with other content (its raw number)
    reference = (await registry_rows(settings), await trail(settings))
    seals = [(e["judgment"], e["status"]) for e in reference[0]["seal_events"]]
    # The minor's judgment sealed, then unsealed by the same person's judgment as an adult.
    assert [status for _, status in seals] == ["open", "sealed", "open", "open", "open", "open",
                                               "open"]
    assert seals[3][0] == seals[1][0]
    assert reference[0]["seal_events"][3]["reason"].startswith("later judgment registered")

    truncate(database_url)
    await prepare(database_url)
    assert (await run_import(settings, "COURT-110101", before)).counts["registered"] == 1
    options: dict[str, Any] = {}
    if variant == "batches of 4":
        options["batch_lines"] = 4
    elif variant == "no staging":
        options["staged"] = False
    elif variant == "nothing read ahead":  # every look-up a line's own statement
        async def read_nothing(self: ReportBatch, inputs: Any) -> None:
            return None

        monkeypatch.setattr(ReportBatch, "read", read_nothing)
    answers, summary = await answers_batched(settings, monkeypatch, "COURT-110101", content,
                                             **options)
    # Byte for byte the API's answer to each line, and the same result in the summary.
    assert [json.dumps(a, sort_keys=True) for a in answers] == \
        [json.dumps(a, sort_keys=True) for a, _ in expected]
    outcomes = [outcome for _, (outcome, _) in expected]
    assert summary.counts == {o: outcomes.count(o) + (o == "invalid") for o in summary.counts}
    assert [p for p in summary.problems if p.code != "BAD_LINE"] == \
        [problem for _, (_, problem) in expected if problem is not None]
    # The same rows, and the same audit events, line by line in line order.
    assert await registry_rows(settings) == reference[0]
    assert await trail(settings) == reference[1]


async def test_a_run_of_judgment_lines_reads_and_writes_set_wise_not_line_by_line(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import event

    lines = [judgment() for _ in range(40)]
    lines += [judgment(defendant=line["input"]["defendant"]) for line in lines[:10]]
    state = build_state(settings)
    statements: list[str] = []

    def counted(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split())[:90])

    event.listen(state.database.engine.sync_engine, "before_cursor_execute", counted)
    try:
        principal = await importer_principal(state, "COURT-110101", None)
        statements.clear()
        summary = await import_notices(state, principal, io.BytesIO(jsonl(*lines)),
                                       batch_seconds=60)
    finally:
        await state.database.dispose()
    assert summary.counts["registered"] == 50
    # 50 lines, one batch: some 25 statements for all of them (the API's way: 12 a line),
    # no SAVEPOINT, each table's rows in one executemany.
    assert "SAVEPOINT" not in statements
    assert len(statements) <= 30, "\n".join(statements)
    assert await count(settings, Judgment) == 50
    assert await count(settings, SealEvent) == 50


async def test_rows_a_run_cannot_write_run_its_batch_again_line_by_line(
        settings: Settings, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    from datetime import date

    from schema.batch import ReportBatch

    reports = [report_input() for _ in range(5)]
    person = reports[1]["defendant"]
    original = ReportBatch.write
    writers = ["a concurrent report"]

    async def write(self: ReportBatch) -> None:
        if writers:  # another request registers the second line's person first
            writers.pop()
            state = build_state(settings)
            try:
                async with state.database.session() as session:
                    session.add(Offender(
                        id_number=person["idNumber"], name=person["name"],
                        birth_date=date.fromisoformat(person["birthDate"]),
                        gender=person["gender"], residence_region=person["residenceRegion"]))
                    await session.commit()
            finally:
                await state.database.dispose()
        await original(self)

    monkeypatch.setattr(ReportBatch, "write", write)
    content = jsonl(*[{"kind": "JUDGMENT", "input": r} for r in reports],
                    {"kind": "JUDGMENT", "input": reports[0]})
    summary = await run_import(settings, "COURT-110101", content, batch_lines=3)
    assert summary.counts == {"registered": 5, "duplicate": 1, "conflict": 0, "queued": 0,
                              "invalid": 0, "forbidden": 0, "failed": 0}
    assert await count(settings, Judgment) == 5
    assert await count(settings, Notice) == 5
    assert await count(settings, Offender) == 5  # the person the other request registered
    # The first batch's lines were done one transaction each, once.
    events = await trail(settings)
    assert [e["request_id"] for e in events if e["action"] == "judgment:report"
            and e["outcome"] == "permit" and e["policy_uid"]] == \
        [f"import-RUN-{n}" for n in range(1, 7)]
    # Why, in the log: the error's kind (on SQLite the other writer found the database
    # locked by the batch, and failed), never the statement's values.
    assert "rows could not be written (IntegrityError)" in caplog.text or \
        "rows could not be written (OperationalError)" in caplog.text
    assert person["idNumber"] not in caplog.text


async def test_a_run_that_cannot_be_written_before_the_next_kind_of_line_counts_each_line_once(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from schema.batch import ReportBatch

    original = ReportBatch.write
    failures = [RuntimeError("a concurrent writer took the judgment number first")]

    async def write(self: ReportBatch) -> None:
        if failures:
            raise failures.pop()
        await original(self)

    monkeypatch.setattr(ReportBatch, "write", write)
    reports = [report_input() for _ in range(3)]
    content = jsonl(*[{"kind": "JUDGMENT", "input": r} for r in reports],
                    execution("RELEASE", reports[0], "R-1"), judgment())
    done: list[int] = []
    state = build_state(settings)
    try:
        principal = await importer_principal(state, "COURT-110101", None)
        summary = await import_notices(state, principal, io.BytesIO(content), done.append,
                                       batch_seconds=60)
    finally:
        await state.database.dispose()
    # The run's three lines again one by one; the release, which made the run write, in the
    # next batch with the line after it: every line once, every byte once.
    assert (summary.counts["registered"], summary.counts["forbidden"], summary.lines) == \
        (4, 1, 5)
    assert sum(done) == len(content) and len(done) == 2
    assert problems(summary) == [(4, "forbidden", None)]
    assert await count(settings, Judgment) == 4


async def test_a_run_holds_its_lines_notice_keys_as_a_report_of_the_api_would_wait_on_them(
        settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A report of the same notice sent through the API meanwhile waits for the batch: on
    PostgreSQL for the notice key's advisory lock, on SQLite for the database's write lock."""
    from sqlalchemy import create_engine, text

    from db.engine import sync_url
    from db.locks import NOTICE_KEYS, key_digest
    from schema.batch import ReportBatch

    reports = [report_input() for _ in range(3)]
    original = ReportBatch.read
    held: list[bool] = []

    def others_may_lock(sender_id: int) -> list[bool]:
        engine = create_engine(sync_url(database_url))
        try:
            with engine.connect() as other:
                if engine.dialect.name == "sqlite":
                    other.exec_driver_sql("PRAGMA busy_timeout = 0")
                    try:
                        other.exec_driver_sql("BEGIN IMMEDIATE")
                    except Exception:  # noqa: BLE001 - "database is locked"
                        return [False] * len(reports)
                    other.exec_driver_sql("ROLLBACK")
                    return [True] * len(reports)
                return [bool(other.execute(text(
                    "SELECT pg_try_advisory_xact_lock(:n, :k)"),
                    {"n": NOTICE_KEYS, "k": key_digest(f"{sender_id}:{r['noticeNumber']}")}
                ).scalar()) for r in reports]
        finally:
            engine.dispose()

    async def read(self: ReportBatch, inputs: Any) -> None:
        await original(self, inputs)
        held.extend(await asyncio.to_thread(others_may_lock, self._sender_id))

    monkeypatch.setattr(ReportBatch, "read", read)
    summary = await run_import(settings, "COURT-110101",
                               jsonl(*[{"kind": "JUDGMENT", "input": r} for r in reports]))
    assert summary.counts["registered"] == 3
    assert held == [False, False, False]
