"""`registry import notices` (issue 3): each line reported as the API would, on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, func, select

from api.app import build_state
from api.auth import ROLES
from api.cli import main
from api.importer import ROLE_BY_AGENCY_KIND, Summary, import_notices, importer_principal
from api.settings import Settings
from db.audit import verify_chain
from db.models import AuditEvent, ExecutionEvent, Judgment, Notice, Offender
from db.models.agencies import AGENCY_KINDS
from tests.api.conftest import prepare
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
                     sub: str | None = None) -> Summary:
    state = build_state(settings)
    try:
        principal = await importer_principal(state, agency, sub)
        return await import_notices(state, principal, io.BytesIO(content))
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


async def test_the_import_reads_the_file_line_by_line(settings: Settings,
                                                      tmp_path: Path) -> None:
    content = jsonl(*[judgment() for _ in range(20)], "not JSON", judgment())
    stream = LineByLineOnly(content)
    taken_when_done: list[int] = []
    state = build_state(settings)
    try:
        principal = await importer_principal(state, "COURT-110101", None)
        summary = await import_notices(state, principal, stream,
                                       lambda n: taken_when_done.append(stream.taken))
        # Each line was taken only once the one before it was done.
        assert taken_when_done == list(range(1, 23))
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


async def test_an_interrupted_import_ends_after_the_line_in_hand_and_says_where(
        settings: Settings) -> None:
    stop = asyncio.Event()
    done: list[int] = []

    def progress(consumed: int) -> None:
        done.append(consumed)
        if len(done) == 2:
            stop.set()  # what the first Ctrl-C does

    state = build_state(settings)
    try:
        principal = await importer_principal(state, "COURT-110101", None)
        summary = await import_notices(state, principal, io.BytesIO(jsonl(
            judgment(), judgment(), judgment())), progress, stop)
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
