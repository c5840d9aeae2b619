"""Safety (DESIGN.md §3, issue 10 item 6): no argument value, however extreme, is an
internal error. Bad input is `BAD_USER_INPUT` naming the field; nothing answers 5xx.

Every root field of Query and Mutation, read from the built schema, is called through the
real HTTP app on SQLite and PostgreSQL (a field added later is called too, and fails
`test_the_walk_finds_every_root_field_and_each_has_a_caller` until it names who may call
it), by a principal the default policies allow, so that the resolver runs past
authorization. Argument values come from tests/property/inputs.py: extremes of each
GraphQL type mixed with plausible values (real ids, valid inputs with one or two leaves
made extreme), inline as literals or as variables. A refused mutation must also leave
every record as it was. `REGISTRY_TEST_INPUT_EXAMPLES` raises the number of examples
(30 by default, about 35-50 s per database with 40 root fields; the suite must stay under 10
minutes) to hunt.
"""

from __future__ import annotations

import os
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from sqlalchemy import text

from schema import build_schema
from schema.pagination import encode_cursor, encode_tagged_cursor
from tests.api import conftest as api_conftest
from tests.cases import party, register_case
from tests.factories import (
    AUDITOR,
    CLERK_DONGCHENG,
    EMPLOYER,
    JA_OFFICER,
    JUDGE,
    LAWYER,
    POLICE,
    PRISON_OFFICER,
    PROSECUTOR,
    REGISTER_DETENTION,
    RELEASE,
    REPORT,
    SECURITY_ADMIN,
    Registry,
    detention_input,
    expiry_input,
    id_number,
    release_input,
    report_input,
)
from tests.property.inputs import (
    Inputs,
    document,
    encode,
    fields_with_arguments,
    printed_arguments,
)

registry = api_conftest.registry
settings = api_conftest.settings
# A failing example is printed with its values, some of them 10 kB long on purpose.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Generating overly large repr"),
    # Seen once in five full runs, on PostgreSQL, not reproduced alone: for some generated
    # input graphql-core leaves a field's resolver coroutine (strawberry's `_async_resolver`)
    # unawaited, and it is collected with a RuntimeWarning. The answer itself was checked (no
    # internal error, nothing changed); only that leaked coroutine's warning is let through,
    # here and nowhere else. Finding the input that does it is open work (issue 14 note).
    pytest.mark.filterwarnings("ignore:coroutine 'GraphQLCoreConverter.from_resolver.<locals>."
                               "_async_resolver' was never awaited:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:Exception ignored in. <coroutine object "
                               "GraphQLCoreConverter.from_resolver.<locals>._async_resolver"
                               ":pytest.PytestUnraisableExceptionWarning"),
]

SCHEMA = build_schema()._schema
ROOTS = {"query": SCHEMA.query_type, "mutation": SCHEMA.mutation_type}
SELF_ID = id_number(serial=990)
INDIVIDUAL = ("person.fuzz", "individual", None, SELF_ID)
FUZZ_UID = "fuzz.nobody-does-nothing"
RECORD_TABLES = ("offender", "judgment", "judgment_version", "seal_event", "execution_event",
                 "notice", "detention", "inquiry", "inquiry_record", "certificate",
                 "defense_counsel", "criminal_case", "case_party", "policy", "policy_change")
EXAMPLES = int(os.environ.get("REGISTRY_TEST_INPUT_EXAMPLES", "30"))

# Who calls each root field: principals the default policies allow to (one is drawn).
CALLERS: dict[str, list[Any]] = {
    "me": [CLERK_DONGCHENG], "detention": [POLICE], "offender": [CLERK_DONGCHENG],
    "node": [CLERK_DONGCHENG, POLICE],
    "offenders": [CLERK_DONGCHENG], "judgment": [CLERK_DONGCHENG],
    "judgments": [CLERK_DONGCHENG], "notice": [CLERK_DONGCHENG],
    "notices": [CLERK_DONGCHENG, JUDGE], "reportingCompliance": [AUDITOR, CLERK_DONGCHENG],
    "inquiry": [AUDITOR, POLICE], "inquiries": [AUDITOR, POLICE, EMPLOYER],
    "verifyCertificate": [EMPLOYER], "policies": [SECURITY_ADMIN],
    "policy": [SECURITY_ADMIN], "policyHistory": [SECURITY_ADMIN],
    "explainAccess": [SECURITY_ADMIN], "previewPolicyChange": [SECURITY_ADMIN],
    "auditEvents": [AUDITOR], "accessReport": [AUDITOR],
    "reportJudgment": [JUDGE], "reportRelease": [PRISON_OFFICER],
    "reportCorrectionExpiry": [JA_OFFICER], "resolveNotice": [CLERK_DONGCHENG],
    "rejectNotice": [CLERK_DONGCHENG],
    "submitInquiry": [EMPLOYER, LAWYER, JUDGE, INDIVIDUAL], "decideInquiry": [POLICE],
    "correctJudgment": [JUDGE, CLERK_DONGCHENG], "registerDetention": [POLICE],
    "closeDetentionCase": [POLICE], "registerDefenseCounsel": [POLICE],
    "case": [POLICE, AUDITOR], "cases": [POLICE, AUDITOR], "registerCase": [POLICE, JUDGE],
    "addCaseParty": [POLICE], "transferCase": [POLICE], "closeCase": [POLICE],
    "createPolicy": [SECURITY_ADMIN], "updatePolicy": [SECURITY_ADMIN],
    "deletePolicy": [SECURITY_ADMIN], "rollbackPolicy": [SECURITY_ADMIN],
    "policyChanges": [SECURITY_ADMIN, AUDITOR], "approvePolicyChange": [SECURITY_ADMIN],
    "rejectPolicyChange": [SECURITY_ADMIN],
}


def root_fields() -> list[tuple[str, str]]:
    return [(kind, name) for kind, type_ in ROOTS.items() if type_ is not None
            for name in type_.fields]


def harmless_policy(uid: str = FUZZ_UID) -> dict[str, Any]:
    """An allow for an action nobody asks: changing it changes no decision elsewhere."""
    return {"uid": uid, "description": "Fuzzing: allows an action that does not exist.",
            "effect": "allow",
            "rules": {"subject": {"$.role": {"condition": "Equals", "value": "nobody"}},
                      "resource": {"$.type": {"condition": "Equals", "value": "nothing"}},
                      "action": {"$.name": {"condition": "Equals", "value": "nothing:do"}},
                      "context": {}},
            "targets": {}}


def threshold_policy() -> dict[str, Any]:
    """The harmless policy with a numeric condition: a place for numbers of any kind."""
    policy = harmless_policy()
    policy["rules"]["subject"] = {"$.role": {"condition": "Gt", "value": 5}}
    return policy


# The root fields CONTRACT.md §4 fixes: the walk must find them.
CONTRACT_ROOTS = {
    "me", "offender", "offenders", "judgment", "judgments", "inquiry", "inquiries", "notices",
    "policies", "explainAccess", "auditEvents", "reportJudgment", "reportRelease",
    "reportCorrectionExpiry", "registerDetention", "closeDetentionCase", "correctJudgment",
    "registerDefenseCounsel", "submitInquiry", "decideInquiry", "createPolicy",
    "updatePolicy", "deletePolicy", "case", "registerCase", "addCaseParty", "transferCase",
    "closeCase", "policyChanges", "approvePolicyChange", "rejectPolicyChange",
}


def test_the_walk_finds_every_root_field_and_each_has_a_caller() -> None:
    walked = [name for _, name in root_fields()]
    assert len(walked) == len(SCHEMA.query_type.fields) + len(SCHEMA.mutation_type.fields)
    assert CONTRACT_ROOTS <= set(walked)
    assert set(walked) - set(CALLERS) == set(), "add who may call these fields to CALLERS"
    assert set(CALLERS) - set(walked) == set(), "these fields are gone from the schema"


async def ok(registry: Registry, query: str, variables: dict[str, Any],  # noqa: F811
             as_: Any) -> dict[str, Any]:
    body = await registry.gql(query, variables, as_=as_)
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


async def seed(registry: Registry) -> dict[str, Any]:  # noqa: F811
    """Records for the plausible values (ids, numbers, a certificate), made once."""
    report = report_input()
    notice = (await ok(registry, REPORT, {"input": report}, JUDGE)
              )["reportJudgment"]["notice"]["id"]
    [found] = (await ok(registry, "query($n: String) { judgments(filter: {idNumber: $n}) "
                        "{ edges { node { id offender { id } } } } }",
                        {"n": report["defendant"]["idNumber"]}, CLERK_DONGCHENG)
               )["judgments"]["edges"]
    own = await ok(registry, "mutation($i: SubmitInquiryInput!) { submitInquiry(input: $i) "
                   "{ id certificate { number } } }",
                   {"i": {"purpose": "SELF", "subjectIdNumber": SELF_ID}}, INDIVIDUAL)
    await ok(registry, "mutation($p: JSON!) { createPolicy(policy: $p) { uid } }",
             {"p": harmless_policy()}, SECURITY_ADMIN)
    return {"report": report, "judgment": found["node"]["id"],
            "offender": found["node"]["offender"]["id"], "notice": notice,
            "inquiry": own["submitInquiry"]["id"],
            "certificate": own["submitInquiry"]["certificate"]["number"]}


async def consumables(registry: Registry, report: dict[str, Any]  # noqa: F811
                      ) -> dict[str, Any]:
    """Records an example may use up (decide, close, resolve, transfer), made for every
    example: a release queued (in Dongcheng, where the person lives) for a mistyped judgment
    number, a detention, the police's case of it with the person as suspect, and an inquiry
    waiting for examination."""
    mistyped = release_input(report, judgmentNumber="(2026) Jing 0101 Xing Chu No. typo")
    queued = (await ok(registry, RELEASE, {"input": mistyped}, PRISON_OFFICER)
              )["reportRelease"]["notice"]["id"]
    detention = detention_input()
    detained = await ok(registry, REGISTER_DETENTION, {"input": detention}, POLICE)
    await register_case(registry, POLICE, detention["caseNumber"],
                        [party(detention["person"]["idNumber"])])
    pending = await ok(registry, "mutation($i: SubmitInquiryInput!) { submitInquiry(input: $i) "
                       "{ id } }", {"i": {"purpose": "EMPLOYMENT", "subjectIdNumber": SELF_ID,
                                          "legalBasis": "law", "consentReference": "c-1"}},
                       EMPLOYER)
    return {"queued": queued, "detention": detained["registerDetention"]["detention"]["id"],
            "caseNumber": detention["caseNumber"], "pending": pending["submitInquiry"]["id"]}


def inputs_for(seeded: dict[str, Any]) -> Inputs:
    one = st.sampled_from
    report = seeded["report"]
    ids = one([seeded["judgment"], seeded["offender"], seeded["notice"], seeded["queued"],
               seeded["detention"], seeded["inquiry"], seeded["pending"]])
    id_numbers = st.one_of(one([report["defendant"]["idNumber"], SELF_ID]),
                           st.builds(id_number))
    explain = {"subject": {"role": "registry_clerk", "region": "110101"},
               "resource": {"type": "judgment", "seal_status": "open"},
               "action": "judgment:read"}
    plausible: dict[str, st.SearchStrategy[Any]] = {
        "id": ids, "judgmentId": st.just(seeded["judgment"]),
        # the record each root field is about, beside the other ids
        **{f"{root}.id": st.one_of(st.just(seeded[kind]), ids) for root, kind in [
            ("offender", "offender"), ("judgment", "judgment"), ("notice", "notice"),
            ("detention", "detention"), ("inquiry", "inquiry"),
            ("correctJudgment", "judgment"), ("decideInquiry", "pending"),
            ("closeDetentionCase", "detention"), ("resolveNotice", "queued"),
            ("rejectNotice", "queued")]},
        "offenderId": st.just(seeded["offender"]), "first": one([0, 1, 20, 100]),
        "after": one([encode_cursor(seeded["judgment"]), encode_cursor(seeded["offender"]),
                      encode_cursor("5"), encode_tagged_cursor("pv", 1),
                      encode_tagged_cursor("jv", 1), encode_tagged_cursor("agc", JUDGE[2])]),
        "uid": st.just(FUZZ_UID), "policy.uid": one([FUZZ_UID, "auditor.reads-policies"]),
        "policyHistory.uid": one([FUZZ_UID, "auditor.reads-policies"]),
        "deleteUid": one([FUZZ_UID, "auditor.reads-policies"]),
        "version": one([1, 2]), "expectedVersion": st.just(1),
        "number": st.just(seeded["certificate"]), "reason": st.just("checked on file"),
        "caseNumber": st.just(seeded["caseNumber"]), "lawyer": st.just(LAWYER[0]),
        "toAgency": one([PROSECUTOR[2], JUDGE[2], "LAW-110101", POLICE[2]]),
        "idNumber": id_numbers, "subjectIdNumber": id_numbers, "suspectIdNumber": id_numbers,
        "name": st.just("Wang Wei"), "gender": st.just("male"),
        "residenceRegion": st.just("110101"), "birthDate": st.just("1990-05-17"),
        "noticeNumber": st.integers(1, 10**6).map(lambda n: f"FZ-{n}"),
        "judgmentNumber": st.just(report["judgmentNumber"]),
        "prosecutor": st.just("Dongcheng District People's Procuratorate"),
        "judgmentDate": st.just("2026-09-01"), "effectiveDate": st.just("2026-09-12"),
        "offenseDate": st.just("2026-03-02"), "releaseDate": st.just("2026-11-20"),
        "expiryDate": st.just("2026-11-20"), "startDate": st.just("2026-11-02"),
        "endDate": st.just("2026-11-09"), "from": st.just("2026-01-01"),
        "to": st.just("2026-12-31"), "since": st.just("2026-01-01T00:00:00+00:00"),
        "until": st.just("2027-01-01T00:00:00+08:00"), "termMonths": st.just(12),
        "probationMonths": st.just(12),
        "supplementary": st.just(["deprivation of political rights"]),
        "fineAmount": st.just("5000"), "legalBasis": st.just("Labour Law art. 1"),
        "consentReference": st.just("consent-2026-117"),
        "AuditFilter.sub": st.just(JUDGE[0]), "AuditFilter.agency": st.just(JUDGE[2]),
        "AuditFilter.action": st.just("judgment:read"),
        "AuditFilter.purpose": st.just("case_handling"),
        "AuditFilter.outcome": st.just("permit"),
        "AuditFilter.resourceId": st.just(seeded["judgment"]),
        "request": st.just(explain),
        "policy": st.sampled_from([harmless_policy(), threshold_policy()]),
    }
    defendant = st.builds(lambda: report_input()["defendant"])
    bases: dict[str, st.SearchStrategy[dict[str, Any]]] = {
        "ReportJudgmentInput": st.builds(report_input), "PersonInput": defendant,
        "ReportReleaseInput": st.builds(lambda: release_input(report)),
        "ReportCorrectionExpiryInput": st.builds(lambda: expiry_input(report)),
        "RegisterDetentionInput": st.builds(detention_input),
        "SubmitInquiryInput": st.just({"purpose": "EMPLOYMENT", "subjectIdNumber": SELF_ID,
                                       "legalBasis": "law", "consentReference": "c-1"}),
        "CorrectJudgmentInput": st.just({"offenseDate": "2026-03-01", "retrial": False}),
        "CrimeInput": st.just({"name": "Theft", "article": "Art. 264"}),
        "PenaltyInput": st.just({"kind": "FIXED_TERM_IMPRISONMENT", "termMonths": 12}),
        "AuditFilter": st.just({"since": "2026-01-01T00:00:00Z"}),
        "RegisterCaseInput": st.builds(lambda: {
            "caseNumber": f"FZ-{id_number()}", "stage": "INVESTIGATION",
            "parties": [party(report["defendant"]["idNumber"])]}),
        "CasePartyInput": st.builds(lambda: party(id_number(), "WITNESS")),
    }
    return Inputs(plausible, bases)


async def record_counts(registry: Registry) -> tuple[int, ...]:  # noqa: F811
    """The rows of every table a mutation writes (but the audit trail, which records
    refusals too), in one statement."""
    counts = ", ".join(f"(SELECT count(*) FROM {table})"  # noqa: S608 - constant names
                       for table in RECORD_TABLES)
    async with registry.app.state.registry.database.session() as session:
        return tuple((await session.execute(text(f"SELECT {counts}"))).one())


def problems(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The errors that break the contract: INTERNAL, no code, BAD_USER_INPUT with no field."""
    found = []
    for error in body.get("errors") or []:
        extensions = error.get("extensions") or {}
        code = extensions.get("code")
        if code in (None, "INTERNAL") or (code == "BAD_USER_INPUT"
                                          and not extensions.get("field")):
            found.append(error)
    return found


async def call(registry: Registry, principal: Any, query: str,  # noqa: F811
               variables: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await registry.http.post(
        "/graphql", content=encode({"query": query, "variables": variables}),
        headers={"Authorization": f"Bearer {registry.token(*principal)}",
                 "Content-Type": "application/json"})
    if "json" not in response.headers.get("content-type", ""):
        return response.status_code, {"text": response.text[:200]}
    return response.status_code, response.json()


async def exercise(registry: Registry, data: st.DataObject) -> list[str]:  # noqa: F811
    """Calls every root field once with drawn arguments; returns what broke the contract."""
    seeded = getattr(registry, "_fuzz_seed", None)
    if seeded is None:
        seeded = await seed(registry)
        registry._fuzz_seed = seeded  # type: ignore[attr-defined]
    inputs = inputs_for({**seeded, **await consumables(registry, seeded["report"])})
    broken, called = [], set()
    for kind, name in root_fields():
        field = ROOTS[kind].fields[name]  # type: ignore[union-attr]
        principal = data.draw(st.sampled_from(CALLERS[name]), label=f"{name} caller")
        arguments = data.draw(inputs.arguments(name, field), label=f"{name} arguments")
        inline = data.draw(st.sets(st.sampled_from(sorted(field.args) or [""])),
                           label=f"{name} inline")
        nested = {key: printed_arguments(inner, data.draw(inputs.arguments(key, inner),
                                                          label=key))
                  for key, inner in fields_with_arguments(field.type).items()}
        query, variables = document(kind, name, field, arguments, inline.__contains__, nested)
        before = await record_counts(registry) if kind == "mutation" else None
        status, body = await call(registry, principal, query, variables)
        shown = f"{query[:300]!r} variables={repr(variables)[:300]}"
        if status >= 500 or problems(body):
            broken.append(f"{name} as {principal[1]}: HTTP {status} {problems(body)} for {shown}")
        elif before is not None and (status != 200 or body.get("errors")) \
                and await record_counts(registry) != before:
            broken.append(f"{name} as {principal[1]} was refused and changed records: {shown}")
        called.add(name)
    assert called == set(CALLERS)
    return broken


# Shrinking replays every call of an example many times over; the message already names
# the call that failed, its document and its variables.
@hypothesis.settings(max_examples=EXAMPLES, deadline=None,
                     phases=[Phase.explicit, Phase.reuse, Phase.generate],
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
async def test_no_argument_value_of_any_operation_is_an_internal_error(
        registry: Registry, data: st.DataObject) -> None:  # noqa: F811
    broken = await exercise(registry, data)
    assert broken == [], "\n".join(broken)
