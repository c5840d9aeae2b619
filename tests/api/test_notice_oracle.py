"""A notice tells its sender nothing that the sender may not read (DESIGN.md §1.2, issue 11
item 3), on SQLite and PostgreSQL.

The attack: a reporting officer who may read no record sends notices to learn about them.
A release probing a sealed judgment, a judgment number nobody has, a wrong name or a date
before the judgment took effect must get the same answer, byte for byte once the ids,
notice numbers and timestamps are masked: the whole HTTP body, the sender's later reads of
its notices, the CONFLICT of a reused notice number, and the SQL the registry runs for
each (a proxy for its timing). The clerk who works the queue still sees the precise reason
and the authority that truly keeps the person's records.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlmodel import select

import schema
from db.models import AuditEvent
from schema.notices import UNMATCHED_REASON
from tests.api.test_query_count import counting
from tests.factories import (
    AUDITOR,
    CLERK_DONGCHENG,
    CLERK_SHANGHAI,
    JA_OFFICER,
    JUDGE,
    JUDGE_SHANGHAI,
    POLICE,
    PRISON_OFFICER,
    REGISTER_DETENTION,
    REPORT,
    Registry,
    detention_input,
    expiry_input,
    id_number,
    release_input,
    report_input,
)

Principal = tuple[str, str, str]

# Every field of Notice but `content` (the sender's own input, echoed back; it differs
# because the probes differ): test_the_comparison_covers_every_field_of_a_notice.
NOTICE = """id kind noticeNumber status late reason eventDate dueDate delayDays receivedAt
  resolvedBy resolvedAt resolution
  receivingAuthority { code kind name region } sender { code kind name region }
  judgment { id sealStatus }"""
RELEASE = ("mutation Release($input: ReportReleaseInput!) { reportRelease(input: $input) { "
           f"notice {{ {NOTICE} }} }} }}")
EXPIRY = ("mutation Expiry($input: ReportCorrectionExpiryInput!) { "
          f"reportCorrectionExpiry(input: $input) {{ notice {{ {NOTICE} }} }} }}")
JUDGMENT = ("mutation Report($input: ReportJudgmentInput!) { reportJudgment(input: $input) { "
            f"judgment {{ id sealStatus }} notice {{ {NOTICE} }} }} }}")
MINE = f"{{ notices(first: 100) {{ totalCount edges {{ node {{ {NOTICE} }} }} }} }}"
ONE = f"query One($id: ID!) {{ notice(id: $id) {{ {NOTICE} }} }}"
QUEUE = """query Queue { notices(status: UNMATCHED, first: 100) { edges { node {
  id noticeNumber reason receivingAuthority { code } } } } }"""

# Masked: what is unique to each notice however the registry answers.
MASKED = frozenset({"id", "noticeNumber", "receivedAt", "resolvedAt"})
RELEASED_ON = "2026-11-20"


def masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<masked>" if k in MASKED and v is not None else masked(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def as_bytes(body: Any) -> bytes:
    """The body as the wire carries it, ids masked: what two answers are compared by."""
    return json.dumps(masked(body), ensure_ascii=False).encode()


def all_alike(bodies: dict[str, Any]) -> None:
    """Every answer is byte for byte the first one (names the one that differs)."""
    names = list(bodies)
    first = as_bytes(bodies[names[0]])
    for name in names[1:]:
        assert as_bytes(bodies[name]) == first, (names[0], name, bodies[names[0]], bodies[name])


async def reported(registry: Registry, who: Principal = JUDGE, **overrides: Any
                   ) -> dict[str, Any]:
    report = report_input(**overrides)
    body = await registry.gql(REPORT, {"input": report}, as_=who)
    assert body["data"]["reportJudgment"]["notice"]["status"] == "REGISTERED", body
    return report


def minor(**overrides: Any) -> dict[str, Any]:
    """A person of Dongcheng who offended at 17: 12 months' imprisonment is sealed."""
    return {"defendant": {"idNumber": id_number(birth=date(2008, 3, 2)), "name": "Zhao Min",
                          "birthDate": "2008-03-02"},
            "offenseDate": "2026-03-02", **overrides}


LATER = {"judgmentDate": "2026-11-24", "effectiveDate": "2026-11-25"}  # after RELEASED_ON


async def world(registry: Registry) -> dict[str, dict[str, Any]]:
    """The records the probes are about, as the courts reported them."""
    found = {
        "open": await reported(registry),
        "open, effective later": await reported(registry, **LATER),
        "sealed": await reported(registry, **minor()),
        "sealed, effective later": await reported(registry, **minor(**LATER)),
        "twice": await reported(registry),
    }
    # The same number for the same person from a second court: which one is meant?
    twice = found["twice"]
    await reported(registry, JUDGE_SHANGHAI, judgmentNumber=twice["judgmentNumber"],
                   defendant=twice["defendant"])
    sealed = await registry.gql("{ judgments(first: 100) { edges { node { judgmentNumber "
                                "sealStatus } } } }", as_=CLERK_DONGCHENG)
    seal = {e["node"]["judgmentNumber"]: e["node"]["sealStatus"]
            for e in sealed["data"]["judgments"]["edges"]}
    assert seal[found["sealed"]["judgmentNumber"]] == "SEALED"
    assert seal[found["sealed, effective later"]["judgmentNumber"]] == "SEALED"
    assert seal[found["open"]["judgmentNumber"]] == "OPEN"
    return found


# (the probe, the precise reason that the clerk of the queue reads)
EXECUTION_PROBES: list[tuple[str, str]] = [
    ("a sealed judgment", "sealed"),
    ("a sealed judgment with a wrong name", "identity"),
    ("a sealed judgment before it took effect", "before"),
    ("a judgment number nobody has", "no judgment"),
    ("a wrong name", "identity"),
    ("a wrong birth date", "identity"),
    ("a date before the judgment took effect", "before"),
    ("another person's identity number", "identity"),
    ("an identity number the registry does not know", "identity"),
    ("a number two judgments of the person carry", "ambiguous"),
]
PRECISE = {
    "sealed": "the notice matches a sealed judgment that its sender may not read: a clerk "
              "matches it",
    "identity": "identity fields disagree with the registry",
    "no judgment": "no judgment with this number is registered",
    "ambiguous": "the judgment number matches more than one judgment of this person",
}


def execution_probe(name: str, records: dict[str, dict[str, Any]],
                    make: Callable[..., dict[str, Any]], date_field: str,
                    **stated: Any) -> dict[str, Any]:
    on = {date_field: RELEASED_ON, **stated}
    open_, sealed = records["open"], records["sealed"]
    return {
        "a sealed judgment": lambda: make(sealed, **on),
        "a sealed judgment with a wrong name": lambda: make(sealed, name="Someone Else", **on),
        "a sealed judgment before it took effect": lambda: make(
            records["sealed, effective later"], **on),
        "a judgment number nobody has": lambda: make(
            open_, judgmentNumber="(2026) Jing 0101 Xing Chu No. none", **on),
        "a wrong name": lambda: make(open_, name="Someone Else", **on),
        "a wrong birth date": lambda: make(open_, birthDate="1991-01-01", **on),
        "a date before the judgment took effect": lambda: make(
            records["open, effective later"], **on),
        "another person's identity number": lambda: make(
            open_, idNumber=records["open, effective later"]["defendant"]["idNumber"], **on),
        "an identity number the registry does not know": lambda: make(
            open_, idNumber=id_number(region="110102"), **on),
        "a number two judgments of the person carry": lambda: make(records["twice"], **on),
    }[name]()


KINDS = {
    "release": (RELEASE, "reportRelease", PRISON_OFFICER, release_input, "releaseDate"),
    "correction expiry": (EXPIRY, "reportCorrectionExpiry", JA_OFFICER, expiry_input,
                          "expiryDate"),
}
# The authority covering each sender's own region: PRISON-110000, JA-110101.
SENDERS_AUTHORITY = {"release": "REG-110000", "correction expiry": "REG-110101"}


async def probe_all(registry: Registry, kind: str, **stated: Any
                    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Every probe of `kind`, sent by one officer: (the inputs, the answers) by probe."""
    mutation, _, who, make, date_field = KINDS[kind]
    records = await world(registry)
    inputs = {name: execution_probe(name, records, make, date_field, **stated)
              for name, _ in EXECUTION_PROBES}
    answers = {name: await registry.gql(mutation, {"input": value}, as_=who)
               for name, value in inputs.items()}
    return inputs, answers


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("stated", [{}, {"residenceRegion": "310101"}],
                         ids=["no residence stated", "another residence stated"])
async def test_a_sender_probing_sealed_missing_misnamed_and_early_judgments_gets_one_answer(
        registry: Registry, kind: str, stated: dict[str, str]) -> None:
    _, field, _, _, _ = KINDS[kind]
    _, answers = await probe_all(registry, kind, **stated)
    all_alike(answers)
    notice = next(iter(answers.values()))["data"][field]["notice"]
    # UNMATCHED with the one generic reason, the authority chosen from the notice's own
    # fields (the residence it states, else the sender's region), the date its own.
    expected = "REG-310000" if stated else SENDERS_AUTHORITY[kind]
    assert (notice["status"], notice["reason"], notice["receivingAuthority"]["code"],
            notice["eventDate"], notice["judgment"]) == (
        "UNMATCHED", UNMATCHED_REASON, expected, RELEASED_ON, None)


@pytest.mark.parametrize("kind", list(KINDS))
async def test_what_the_sender_later_reads_of_those_notices_is_alike_too(
        registry: Registry, kind: str) -> None:
    _, field, who, _, _ = KINDS[kind]
    _, answers = await probe_all(registry, kind)
    ids = {name: body["data"][field]["notice"]["id"] for name, body in answers.items()}
    listed = await registry.gql(MINE, as_=who)
    nodes = {e["node"]["id"]: e["node"] for e in listed["data"]["notices"]["edges"]}
    assert set(ids.values()) <= set(nodes)
    all_alike({name: nodes[ids[name]] for name in ids})
    all_alike({name: await registry.gql(ONE, {"id": ids[name]}, as_=who) for name in ids})
    only = await registry.gql("{ notices(status: UNMATCHED) { totalCount } }", as_=who)
    assert only["data"]["notices"]["totalCount"] == len(ids)


@pytest.mark.parametrize("kind", list(KINDS))
async def test_a_reused_or_replayed_notice_number_answers_alike_whatever_the_record(
        registry: Registry, kind: str) -> None:
    mutation, _, who, _, date_field = KINDS[kind]
    inputs, answers = await probe_all(registry, kind)
    replays = {name: await registry.gql(mutation, {"input": value}, as_=who)
               for name, value in inputs.items()}
    assert replays == answers  # the same notice again: the same answer, ids and all
    conflicts = {name: await registry.gql(mutation, {"input": {**value,
                                                               date_field: "2026-11-21"}},
                                          as_=who)
                 for name, value in inputs.items()}
    all_alike(conflicts)
    first = next(iter(conflicts.values()))
    assert first["errors"][0]["extensions"] == {"code": "CONFLICT", "field": "input.noticeNumber"}


@pytest.mark.parametrize("kind", list(KINDS))
async def test_the_registry_runs_the_same_statements_for_every_probe(
        registry: Registry, kind: str) -> None:
    """Timing: the same SQL, statement for statement, whichever record the probe is about."""
    mutation, _, who, make, date_field = KINDS[kind]
    records = await world(registry)
    await registry.gql(mutation, {"input": make(records["open"])}, as_=who)  # warm caches
    statements: dict[str, list[str]] = {}
    for name, _ in EXECUTION_PROBES:
        value = execution_probe(name, records, make, date_field)
        with counting(registry) as seen:
            await registry.gql(mutation, {"input": value}, as_=who)
        statements[name] = list(seen)
    assert len(statements[EXECUTION_PROBES[0][0]]) >= 5  # the notice's lookups and writes
    all_alike(statements)


@pytest.mark.parametrize("kind", list(KINDS))
async def test_the_clerk_of_the_persons_authority_finds_each_probe_with_its_precise_reason(
        registry: Registry, kind: str) -> None:
    _, field, _, _, _ = KINDS[kind]
    _, answers = await probe_all(registry, kind, residenceRegion="310101")
    ids = {name: body["data"][field]["notice"]["id"] for name, body in answers.items()}
    dongcheng = await registry.gql(QUEUE, as_=CLERK_DONGCHENG)
    queued = {e["node"]["id"]: e["node"] for e in dongcheng["data"]["notices"]["edges"]}
    what = "release" if kind == "release" else "expiry"
    precise = {**PRECISE, "before": f"the {what} date is before the judgment took effect"}
    for name, reason in EXECUTION_PROBES:
        if name == "an identity number the registry does not know":
            continue  # below: where the notice says the person lives
        # The registry knows the person lives in Dongcheng: the notice waits there, where
        # the person's records are kept, not where the sender said.
        assert queued[ids[name]]["reason"] == precise[reason], name
        assert queued[ids[name]]["receivingAuthority"] == {"code": "REG-110101"}, name
    shanghai = await registry.gql(QUEUE, as_=CLERK_SHANGHAI)
    stranger = [e["node"] for e in shanghai["data"]["notices"]["edges"]]
    assert [(n["id"], n["reason"]) for n in stranger] == [
        (ids["an identity number the registry does not know"], precise["identity"])]


async def test_an_auditor_reads_the_precise_reason_of_each_unmatched_notice_in_the_trail(
        registry: Registry) -> None:
    _, answers = await probe_all(registry, "release")
    ids = {name: body["data"]["reportRelease"]["notice"]["id"] for name, body in answers.items()}
    trail = await registry.gql(
        """query T($filter: AuditFilter) { auditEvents(filter: $filter, first: 100) {
             edges { node { resourceIds detail } } } }""",
        {"filter": {"sub": PRISON_OFFICER[0], "action": "notice:report"}}, as_=AUDITOR)
    reasons: dict[str, str] = {}
    for edge in trail["data"]["auditEvents"]["edges"]:
        reasons.update(edge["node"]["detail"].get("unmatched", {}))
    codes = {"sealed": "sealed", "identity": "identity_disagrees", "no judgment": "no_judgment",
             "before": "before_effective", "ambiguous": "ambiguous"}
    assert reasons == {ids[name]: codes[reason] for name, reason in EXECUTION_PROBES}


async def test_a_sealed_match_is_registered_by_the_clerk_and_its_timeliness_is_the_notices_own(
        registry: Registry) -> None:
    records = await world(registry)
    body = await registry.gql(RELEASE, {"input": release_input(
        records["sealed"], releaseDate=RELEASED_ON)}, as_=PRISON_OFFICER)
    notice = body["data"]["reportRelease"]["notice"]
    # Reckoned from the release date, not from the sealed judgment's effective date.
    days = (datetime.now(UTC).date() - date.fromisoformat(RELEASED_ON)).days
    assert (notice["eventDate"], notice["delayDays"]) == (RELEASED_ON, days)
    judgments = await registry.gql(
        "query J($f: JudgmentFilter) { judgments(filter: $f) { edges { node { id } } } }",
        {"f": {"idNumber": records["sealed"]["defendant"]["idNumber"]}}, as_=CLERK_DONGCHENG)
    [sealed_id] = [e["node"]["id"] for e in judgments["data"]["judgments"]["edges"]]
    resolved = await registry.gql(
        """mutation R($id: ID!, $j: ID) { resolveNotice(id: $id, judgmentId: $j,
             reason: "sealed judgment: matched") { notice { status judgment { id
             sealStatus execution { kind date } } } } }""",
        {"id": notice["id"], "j": sealed_id}, as_=CLERK_DONGCHENG)
    assert resolved["data"]["resolveNotice"]["notice"] == {"status": "RESOLVED", "judgment": {
        "id": sealed_id, "sealStatus": "SEALED",
        "execution": [{"kind": "RELEASED", "date": RELEASED_ON}]}}
    # The prison still reads no judgment through its notice.
    again = await registry.gql(ONE, {"id": notice["id"]}, as_=PRISON_OFFICER)
    assert again["data"]["notice"]["judgment"] is None


async def test_an_open_match_is_registered_at_once(registry: Registry) -> None:
    records = await world(registry)
    body = await registry.gql(RELEASE, {"input": release_input(
        records["open"], residenceRegion="310101")}, as_=PRISON_OFFICER)
    notice = body["data"]["reportRelease"]["notice"]
    # Registered, and still shown the authority of the residence the prison stated.
    assert (notice["status"], notice["reason"], notice["receivingAuthority"]["code"]) == (
        "REGISTERED", None, "REG-310000")
    queue = await registry.gql("{ notices(first: 100) { edges { node { id receivingAuthority "
                               "{ code } } } } }", as_=CLERK_DONGCHENG)
    assert {"id": notice["id"], "receivingAuthority": {"code": "REG-110101"}} in [
        e["node"] for e in queue["data"]["notices"]["edges"]]


# -- judgments ------------------------------------------------------------------------------

UNCOVERED = "440103"  # no registration authority covers it


async def test_a_court_probing_known_identities_gets_one_answer(registry: Registry) -> None:
    open_ = await reported(registry)
    sealed = await reported(registry, **minor())
    known, only_sealed = open_["defendant"], sealed["defendant"]

    def probe(defendant: dict[str, Any]) -> dict[str, Any]:
        return report_input(defendant={**defendant, "residenceRegion": UNCOVERED})

    answers = {
        "a wrong name on a known identity number": probe({**known, "name": "Someone Else"}),
        "a wrong birth date on a known identity number": probe(
            {**known, "birthDate": "1990-05-18"}),
        "a wrong name on the identity number of a sealed record": probe(
            {**only_sealed, "name": "Someone Else"}),
        "an unknown person where no authority covers the residence": probe(
            {"idNumber": id_number(region=UNCOVERED), "name": "Qian Yu",
             "birthDate": "1990-05-17"}),
    }
    bodies = {name: await registry.gql(JUDGMENT, {"input": value}, as_=JUDGE)
              for name, value in answers.items()}
    all_alike(bodies)
    payload = next(iter(bodies.values()))["data"]["reportJudgment"]
    assert (payload["judgment"], payload["notice"]["status"], payload["notice"]["reason"],
            payload["notice"]["receivingAuthority"]["code"]) == (
        None, "UNMATCHED", UNMATCHED_REASON, "REG-110101")  # the court's region
    mine = await registry.gql(MINE, as_=JUDGE)
    nodes = {e["node"]["id"]: e["node"] for e in mine["data"]["notices"]["edges"]}
    all_alike({name: nodes[b["data"]["reportJudgment"]["notice"]["id"]]
               for name, b in bodies.items()})
    # The clerks see why. The known people's notices wait in Dongcheng, where they live;
    # the stranger's where the court is, no authority covering the residence it stated.
    queue = await registry.gql(QUEUE, as_=CLERK_DONGCHENG)
    reasons = {e["node"]["id"]: e["node"]["reason"] for e in queue["data"]["notices"]["edges"]}
    assert [reasons[b["data"]["reportJudgment"]["notice"]["id"]] for b in bodies.values()] == [
        *["identity fields disagree with the registry"] * 3,
        "no registration authority covers the residence region"]


async def test_a_judgment_registered_for_a_known_or_unknown_person_answers_alike(
        registry: Registry) -> None:
    """`receivingAuthority` does not tell a court whether the registry knew the person."""
    open_ = await reported(registry)
    sealed = await reported(registry, **minor())
    stated = {"residenceRegion": "110105"}  # Chaoyang: the Beijing authority covers it
    bodies = {
        "a person the registry knows": await registry.gql(JUDGMENT, {"input": report_input(
            defendant={**open_["defendant"], **stated})}, as_=JUDGE),
        "a person with a sealed record": await registry.gql(JUDGMENT, {"input": report_input(
            defendant={**sealed["defendant"], **stated}, offenseDate="2026-06-01")},
            as_=JUDGE),
        "a person the registry does not know": await registry.gql(JUDGMENT, {
            "input": report_input(defendant=stated)}, as_=JUDGE),
    }
    all_alike(bodies)
    notice = next(iter(bodies.values()))["data"]["reportJudgment"]["notice"]
    assert (notice["status"], notice["receivingAuthority"]["code"]) == ("REGISTERED",
                                                                        "REG-110000")
    # Received where the registry knows the person lives: Dongcheng, for the first two.
    ids = [b["data"]["reportJudgment"]["notice"]["id"] for b in bodies.values()]
    queue = await registry.gql("{ notices(first: 100) { edges { node { id } } } }",
                               as_=CLERK_DONGCHENG)
    received = {e["node"]["id"] for e in queue["data"]["notices"]["edges"]}
    assert [i in received for i in ids] == [True, True, False]


# -- detentions -----------------------------------------------------------------------------

async def test_registering_a_detention_tells_nothing_of_the_persons_records(
        registry: Registry) -> None:
    """registerDetention matches nothing: it keeps the person as the police stated them."""
    open_ = await reported(registry)
    sealed = await reported(registry, **minor())
    case = {"caseNumber": "Jing Gong Xing Ju No. 77"}
    bodies = {
        "a person with a sealed record": detention_input(
            person={**sealed["defendant"], "name": "Someone Else"}, **case),
        "a person with an open record": detention_input(
            person={**open_["defendant"], "name": "Someone Else"}, **case),
        "a person the registry does not know": detention_input(
            person={"idNumber": id_number(), "name": "Someone Else"}, **case),
    }
    answers = {name: await registry.gql(REGISTER_DETENTION, {"input": value}, as_=POLICE)
               for name, value in bodies.items()}
    all_alike(answers)
    assert "errors" not in next(iter(answers.values()))
    again = {name: await registry.gql(REGISTER_DETENTION, {"input": value}, as_=POLICE)
             for name, value in bodies.items()}
    all_alike(again)
    assert next(iter(again.values()))["errors"][0]["extensions"]["code"] == "CONFLICT"


# -- the comparison itself --------------------------------------------------------------

def test_the_comparison_covers_every_field_of_a_notice() -> None:
    fields = set(schema.build_schema()._schema.type_map["Notice"].fields)  # type: ignore[attr-defined]
    compared = set(NOTICE.replace("{", " ").replace("}", " ").split())
    assert fields - compared == {"content"}


async def test_the_audit_trail_records_no_denied_read_for_a_sender_asking_nothing(
        registry: Registry) -> None:
    """How precisely a notice answers is the registry's question, not the sender's attempt:
    it leaves no denied event that would count against the sender."""
    await probe_all(registry, "release")
    await registry.gql(MINE, as_=PRISON_OFFICER)
    async with registry.app.state.registry.database.session() as session:
        denied = (await session.scalars(select(AuditEvent).where(
            AuditEvent.sub == PRISON_OFFICER[0], AuditEvent.outcome == "deny"))).all()
    assert [(e.action, e.resource_ids) for e in denied] == []
