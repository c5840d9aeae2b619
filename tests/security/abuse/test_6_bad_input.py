"""Abuse 6 (issue 10): bad input answered with a 500 or a masked INTERNAL.

The attack: give each argument values at the edges of what its type allows (the last day
of year 9999, an instant at -14:00, a time without an offset, a cursor holding a 30-digit
integer, a NUL byte, half a surrogate pair, NaN, a condition named by a list, a name longer
than its column) and watch for `INTERNAL` or a 500: each is a resolver, a scalar or a
database that was never told what it may receive, often answering differently on SQLite
and PostgreSQL. Each must be refused with `BAD_USER_INPUT` naming the field
(`extensions.field`), on both databases alike, and change nothing.
tests/property/test_no_input_is_an_internal_error.py hunts for them; each one it found is
kept here as an example, the three of the issue first.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlmodel import select

from db.models import AuditEvent, Detention, Judgment, Notice, Offender, PolicyRecord
from tests.factories import (
    AUDITOR,
    CLERK_DONGCHENG,
    JUDGE,
    POLICE,
    REGISTER_DETENTION,
    REPORT,
    SECURITY_ADMIN,
    Registry,
    detention_input,
    report_input,
    without_cost,
)
from tests.security.conftest import count, post


async def refused(registry: Registry, document: str, variables: dict[str, Any] | None = None,
                  *, as_: tuple[str, str, str | None]) -> set[str]:
    """POSTs `document`; asserts an HTTP 200 refusal with BAD_USER_INPUT errors only, each
    naming its field, and returns those fields."""
    response = await post(registry, document, variables, as_=as_)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("data") is None, body  # absent where the refusal came before execution
    assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}, body
    return {e["extensions"]["field"] for e in body["errors"]}


async def refused_raw(registry: Registry, body: str, *, as_: tuple[str, str, str | None]
                      ) -> set[str]:
    """Like `refused`, for a body written by hand (JSON escapes no encoder would write)."""
    response = await registry.http.post(
        "/graphql", content=body.encode(),
        headers={"Authorization": f"Bearer {registry.token(*as_)}",
                 "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    errors = response.json()["errors"]
    assert {e["extensions"]["code"] for e in errors} == {"BAD_USER_INPUT"}, errors
    return {e["extensions"]["field"] for e in errors}


def cursor(key: str) -> str:
    return base64.urlsafe_b64encode(f"c1:{key}".encode()).decode().rstrip("=")


def policy_with_a_threshold(value: str) -> str:
    """A createPolicy body whose condition compares with `value`, written as JSON text."""
    return ('{"query": "mutation ($p: JSON!) { createPolicy(policy: $p) { uid document } }", '
            '"variables": {"p": {"uid": "x.threshold", "description": "d", "effect": "allow", '
            '"rules": {"subject": {"$.role": {"condition": "Gt", "value": ' + value + '}}, '
            '"resource": {}, "action": {}, "context": {}}, "targets": {}}}}')


# -- the three findings of the issue ---------------------------------------------------------

async def test_an_access_report_up_to_the_last_day_of_year_9999_is_refused_naming_to(
        registry: Registry) -> None:
    document = '{ accessReport(from: "9999-01-01", to: "9999-12-31") { from to } }'
    assert "to" in await refused(registry, document, as_=AUDITOR)


async def test_audit_events_since_the_last_instant_of_9999_at_minus_14_hours_is_refused(
        registry: Registry) -> None:
    document = ('{ auditEvents(filter: {since: "9999-12-31T23:59:59-14:00"}) '
                "{ totalCount } }")
    assert await refused(registry, document, as_=AUDITOR) == {"filter.since"}


async def test_an_audit_cursor_holding_a_huge_integer_is_refused_naming_after(
        registry: Registry) -> None:
    document = "query ($after: String) { auditEvents(after: $after) { totalCount } }"
    huge = cursor("9" * 30)
    assert await refused(registry, document, {"after": huge}, as_=AUDITOR) == {"after"}


# -- literals, and long lists of errors, name their fields as variables do -------------------

async def test_a_malformed_date_literal_names_its_argument(registry: Registry) -> None:
    document = '{ accessReport(from: "2026-01-01", to: "2026-02-30") { from } }'
    assert await refused(registry, document, as_=AUDITOR) == {"to"}


async def test_a_bad_literal_deep_in_an_input_names_its_path(registry: Registry) -> None:
    document = ('mutation { reportJudgment(input: {noticeNumber: "N", judgmentNumber: "J", '
                'prosecutor: "P", judgmentDate: "2026-09-01", effectiveDate: "2026-09-12", '
                'offenseDate: "2026-03-02", defendant: {idNumber: "x", name: "n", '
                'birthDate: "1990-05-17", residenceRegion: "110101"}, crimes: [{name: "Theft"}, '
                '{name: 5}], penalty: {kind: EXEMPTED, termMonths: 99999999999}}) '
                "{ notice { id } } }")
    assert await refused(registry, document, as_=JUDGE) == {"input.crimes[1].name",
                                                            "input.penalty.termMonths"}


async def test_a_bad_default_value_of_a_variable_names_the_variable(registry: Registry) -> None:
    document = "query ($n: Int = 99999999999) { judgments(first: $n) { totalCount } }"
    assert await refused(registry, document, as_=CLERK_DONGCHENG) == {"n"}


async def test_a_variable_with_more_than_fifty_bad_values_names_every_field(
        registry: Registry) -> None:
    """graphql-core stops after 50 coercion errors and adds one more saying so."""
    document = ("mutation ($input: ReportJudgmentInput!) { reportJudgment(input: $input) "
                "{ notice { id } } }")
    value = report_input(crimes=[{"name": 1}] * 60)
    fields = await refused(registry, document, {"input": value}, as_=JUDGE)
    assert {"input.crimes[0].name", "input.crimes[49].name", "variables"} <= fields


async def test_a_literal_list_of_more_than_a_hundred_bad_values_names_every_field(
        registry: Registry) -> None:
    """Validation stops after 100 errors and adds one more saying so."""
    crimes = ", ".join(["{name: 1}"] * 120)
    document = (f'mutation {{ correctJudgment(id: "x", reason: "r", input: '
                f"{{crimes: [{crimes}]}}) {{ judgment {{ id }} }} }}")
    fields = await refused(registry, document, as_=JUDGE)
    assert {"input.crimes[0].name", "input.crimes[98].name", "query"} <= fields


async def test_a_page_size_literal_of_4401_digits_is_refused_not_an_internal_error(
        registry: Registry) -> None:
    """The cost rule read `first` with int(), which refuses more than 4300 digits."""
    for sign in ("", "-"):
        document = "{ judgments(first: " + sign + "1" + "0" * 4400 + ") { totalCount } }"
        assert await refused(registry, document, as_=CLERK_DONGCHENG) == {"first"}

# -- dates, instants and JSON numbers the service cannot hold --------------------------------

async def test_a_datetime_without_an_offset_is_refused_naming_it(registry: Registry) -> None:
    """The audit trail stores instants; a wall time without an offset is not one."""
    document = ('{ auditEvents(filter: {since: "2026-01-01T00:00:00", '
                'until: "2026-02-01T00:00:00+08:00"}) { totalCount } }')
    assert await refused(registry, document, as_=AUDITOR) == {"filter.since"}


async def test_nan_in_a_policy_is_refused_naming_it_and_nothing_is_stored(
        registry: Registry) -> None:
    """Python's JSON reader takes NaN and the policy validator let it through: SQLite stored
    the policy and then the response could not be written (HTTP 500); PostgreSQL's JSON
    column refused it (INTERNAL)."""
    before = await count(registry, PolicyRecord)
    fields = await refused_raw(registry, policy_with_a_threshold("NaN"), as_=SECURITY_ADMIN)
    assert fields == {"p"}
    assert await count(registry, PolicyRecord) == before


async def test_a_number_beyond_1e308_in_a_policy_is_refused_naming_it(
        registry: Registry) -> None:
    """1e400 reads as infinity."""
    fields = await refused_raw(registry, policy_with_a_threshold("1e400"), as_=SECURITY_ADMIN)
    assert fields == {"p"}


# -- cursors this API never made -------------------------------------------------------------

async def test_an_audit_cursor_of_superscript_digits_is_refused_naming_after(
        registry: Registry) -> None:
    """'²'.isdigit() is true and int('²') raises."""
    document = "query ($after: String) { auditEvents(after: $after) { totalCount } }"
    assert await refused(registry, document, {"after": cursor("\u00b2")},
                         as_=AUDITOR) == {"after"}


async def test_a_nul_byte_in_a_cursor_is_refused_naming_after(registry: Registry) -> None:
    document = "query ($after: String) { judgments(after: $after) { totalCount } }"
    assert await refused(registry, document, {"after": cursor("jdg_\x00")},
                         as_=CLERK_DONGCHENG) == {"after"}


# -- text no database can store --------------------------------------------------------------

async def test_a_nul_byte_in_a_looked_up_id_is_refused_naming_id(registry: Registry) -> None:
    """PostgreSQL refuses U+0000 in any text parameter: INTERNAL there, null on SQLite."""
    document = "query ($id: ID!) { judgment(id: $id) { id } }"
    assert await refused(registry, document, {"id": "a\x00b"}, as_=CLERK_DONGCHENG) == {"id"}


async def test_a_nul_byte_in_a_literal_is_refused_naming_its_argument(
        registry: Registry) -> None:
    document = 'mutation { rollbackPolicy(uid: "\\u0000", version: 1) { uid } }'
    assert await refused(registry, document, as_=SECURITY_ADMIN) == {"uid"}


async def test_a_nul_byte_deep_in_a_json_argument_is_refused_naming_its_path(
        registry: Registry) -> None:
    """A valid policy but for the NUL in a value: it was stored as it came, on both."""
    document = "mutation ($p: JSON!) { createPolicy(policy: $p) { uid } }"
    policy = {"uid": "x.nul", "description": "d", "effect": "allow",
              "rules": {"subject": {"$.role": {"condition": "Equals", "value": "a\x00"}},
                        "resource": {}, "action": {}, "context": {}}, "targets": {}}
    assert await refused(registry, document, {"p": policy}, as_=SECURITY_ADMIN) == {
        "p.rules.subject.$.role.value"}


async def test_an_unpaired_surrogate_is_refused_and_never_echoed(registry: Registry) -> None:
    """JSON can escape half a surrogate pair; an error message that quotes it cannot be
    encoded as UTF-8, and the whole response failed."""
    body = ('{"query": "query ($to: Date!) { accessReport(from: \\"2026-01-01\\", to: $to) '
            '{ from } }", "variables": {"to": "\\ud800"}}')
    assert await refused_raw(registry, body, as_=AUDITOR) == {"to"}


# -- policy documents of the wrong shape -----------------------------------------------------

async def test_a_condition_named_by_a_list_is_refused_naming_its_path(
        registry: Registry) -> None:
    """The policy validator looked the name up in a set: TypeError, unhashable list."""
    document = "mutation ($p: JSON!) { createPolicy(policy: $p) { uid } }"
    policy = {"uid": "x.list-condition", "description": "d", "effect": "allow",
              "rules": {"subject": {"$.role": {"condition": ["Equals"], "value": "judge"}},
                        "resource": {}, "action": {}, "context": {}}, "targets": {}}
    assert await refused(registry, document, {"p": policy}, as_=SECURITY_ADMIN) == {
        "policy.rules.subject.$.role.condition"}


# -- text longer than its column -------------------------------------------------------------

async def test_an_operation_name_longer_than_its_audit_column_is_audited_cut_short(
        registry: Registry) -> None:
    """PostgreSQL refused the audit event of a 150-character operation name (VARCHAR(100)):
    the request failed with a 500, and its decisions went unaudited. SQLite kept it."""
    name = "Q" * 150
    response = await registry.http.post(
        "/graphql", json={"query": f'query {name} {{ judgment(id: "x") {{ id }} }}',
                          "operationName": name},
        headers={"Authorization": f"Bearer {registry.token(*CLERK_DONGCHENG)}"})
    assert response.status_code == 200, response.text
    assert without_cost(response.json()) == {"data": {"judgment": None}}
    async with registry.app.state.registry.database.session() as session:
        operations = set(await session.scalars(select(AuditEvent.operation)))
    assert operations == {"Q" * 100}


# -- a bad nested argument cancels its siblings ----------------------------------------------

async def test_a_bad_nested_cursor_beside_other_fields_is_refused_every_time_not_a_500(
        registry: Registry) -> None:
    """The error cancels the sibling fields (graphql-core's gather_with_cancel); a sibling
    cancelled in the middle of its statement closed the connection, and the rollback of the
    operation then failed: HTTP 500, several times in a hundred."""
    report = report_input()
    await post(registry, REPORT, {"input": report}, as_=JUDGE)
    found = (await post(registry, "query ($n: String) { judgments(filter: {idNumber: $n}) "
                        "{ edges { node { id } } } }", {"n": report["defendant"]["idNumber"]},
                        as_=CLERK_DONGCHENG)).json()["data"]["judgments"]["edges"]
    document = """query ($id: ID!) { judgment(id: $id) { id court { code } crimes { name }
      offender { id judgments(after: "YzE6") { totalCount } detentions { id } }
      history { edges { node { version correctedByAgency { code } } } }
      sealEvents { status } } }"""
    for _ in range(150):
        response = await post(registry, document, {"id": found[0]["node"]["id"]},
                              as_=CLERK_DONGCHENG)
        assert response.status_code == 200
        assert [e["extensions"] for e in response.json()["errors"]] == [
            {"code": "BAD_USER_INPUT", "field": "after"}]

# -- a refused mutation changes nothing ------------------------------------------------------

REFUSED_MUTATIONS = [  # (what, document, variables, who, the field named)
    ("a NUL in the defendant's name", REPORT,
     {"input": report_input(defendant={"name": "Wang\x00Wei"})}, JUDGE, "input.defendant.name"),
    ("a defendant born in 9999", REPORT,
     {"input": report_input(defendant={"birthDate": "9999-01-01"})}, JUDGE,
     "input.defendant.birthDate"),
    ("a detention from 0001-01-01", REGISTER_DETENTION,
     {"input": detention_input(startDate="0001-01-01")}, POLICE, "input.startDate"),
    ("a policy whose threshold is NaN", None, None, SECURITY_ADMIN, "p"),
]


@pytest.mark.parametrize(("what", "document", "variables", "who", "field"), REFUSED_MUTATIONS,
                         ids=[m[0] for m in REFUSED_MUTATIONS])
async def test_a_refused_mutation_leaves_every_record_and_the_audit_trail_as_they_were(
        registry: Registry, what: str, document: str | None, variables: dict[str, Any] | None,
        who: tuple[str, str, str | None], field: str) -> None:
    tables = (Offender, Judgment, Notice, Detention, PolicyRecord, AuditEvent)
    before = [await count(registry, table) for table in tables]
    if document is None:
        fields = await refused_raw(registry, policy_with_a_threshold("NaN"), as_=who)
    else:
        fields = await refused(registry, document, variables, as_=who)
    assert fields == {field}
    assert [await count(registry, table) for table in tables] == before
