"""Safety (DESIGN.md §3): whatever the records and whoever asks, no response carries a
record, a count or an id that the rules deny the requester.

The expected visible set is computed here from the rules themselves, not from the
policies: a registry clerk of a REGISTRATION_AUTHORITY sees the records (sealed ones
included) of people resident in the authority's division; everyone else sees nothing.
Judgments are reported through the API (so sealing is decided by the service), and every
response of `judgments`, `offenders` (forward, backward, from any row's cursor),
`judgment(id)`, `offender(id)` and `node(id)` is compared with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import hypothesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from sqlmodel import col, select

from api.seed import DEMO_AGENCIES
from db.models import Agency, Judgment, Offender
from schema.pagination import encode_cursor
from tests.api import conftest as api_conftest
from tests.conftest import clear_tables
from tests.factories import (
    AUDITOR,
    CLERK_AT_A_COURT,
    CLERK_BEIJING,
    CLERK_DONGCHENG,
    CLERK_SHANGHAI,
    EMPLOYER,
    JUDGE,
    JUDGE_SHANGHAI,
    LAWYER,
    POLICE,
    PROSECUTOR,
    REPORT,
    SECURITY_ADMIN,
    Registry,
    id_number,
    report_input,
)

Principal = tuple[str, str, str | None]

# The API fixtures (`registry` and the `settings` it needs) from tests/api/conftest.py,
# shared without a conftest of our own (pytest names a fixture by its attribute here).
registry = api_conftest.registry
settings = api_conftest.settings

# A registration authority beyond the demo ones, so that 440103 residents are registered.
GUANGZHOU = ("REG-440100", "REGISTRATION_AUTHORITY", "Guangzhou Criminal Record Registry",
             "440100")
AGENCIES = {code: (kind, region) for code, kind, _, region in [*DEMO_AGENCIES, GUANGZHOU]}

REGIONS = ["110101", "110105", "310101", "440103"]
PENALTIES: dict[str, tuple[int, int] | None] = {
    "EXEMPTED": None, "SUPPLEMENTARY_ONLY": None, "PUBLIC_SURVEILLANCE": (1, 36),
    "CRIMINAL_DETENTION": (1, 12), "FIXED_TERM_IMPRISONMENT": (1, 300),
    "LIFE_IMPRISONMENT": None, "DEATH_WITH_REPRIEVE": None, "DEATH": None,
}
NAMED: list[Principal] = [CLERK_DONGCHENG, CLERK_BEIJING, CLERK_SHANGHAI, JUDGE,
                          JUDGE_SHANGHAI, LAWYER, EMPLOYER, AUDITOR, SECURITY_ADMIN,
                          CLERK_AT_A_COURT, PROSECUTOR, POLICE]
LAST_OFFENCE = date(2026, 8, 31)  # report_input's judgment date is 2026-09-01

CLEANED = ("audit_checkpoint", "audit_event", "seal_event", "execution_event", "notice",
           "judgment", "offender")


@dataclass(frozen=True)
class Case:
    region: str
    birth: date
    offence: date
    penalty: str
    term: int | None


@st.composite
def cases(draw: st.DrawFn) -> Case:
    birth = draw(st.dates(date(1975, 1, 1), date(2011, 6, 1))
                 .filter(lambda d: (d.month, d.day) != (2, 29)))
    # 14 years and a day at the least; often around the 18th birthday.
    eighteenth = birth.replace(year=birth.year + 18)
    offence = draw(st.one_of(
        st.dates(birth.replace(year=birth.year + 14) + timedelta(days=1), LAST_OFFENCE),
        st.sampled_from([eighteenth - timedelta(days=1), eighteenth,
                         eighteenth + timedelta(days=1)]),
    ))
    offence = min(offence, LAST_OFFENCE)
    penalty = draw(st.sampled_from(sorted(PENALTIES)))
    bounds = PENALTIES[penalty]
    term = None
    if bounds is not None:
        term = draw(st.one_of(st.integers(*bounds),
                              st.sampled_from([n for n in (59, 60, 61) if n <= bounds[1]]
                                              or [bounds[1]])))
    return Case(draw(st.sampled_from(REGIONS)), birth, offence, penalty, term)


requesters = st.one_of(
    st.sampled_from(NAMED),
    st.builds(lambda role, code: (f"{role}.random", role, code),
              st.sampled_from(["registry_clerk", "registry_clerk", "judge", "individual",
                               "auditor"]),
              st.sampled_from([*AGENCIES, "REG-999999"])),
)


# -- the rules, written independently of the service ----------------------------------------
def expected_sealed(case: Case) -> bool:
    """DESIGN.md §1.4: under 18 at the offence (the 18th birthday itself still counts as
    under 18) and five years or less (life and death never)."""
    under_18 = case.offence <= case.birth.replace(year=case.birth.year + 18)
    if case.penalty in ("LIFE_IMPRISONMENT", "DEATH_WITH_REPRIEVE", "DEATH"):
        return False
    light = case.penalty != "FIXED_TERM_IMPRISONMENT" or (case.term or 0) <= 60
    return under_18 and light


def sees(principal: Principal, region: str) -> bool:
    _, role, agency = principal
    if role != "registry_clerk" or agency not in AGENCIES:
        return False
    kind, division = AGENCIES[agency]
    if kind != "REGISTRATION_AUTHORITY":
        return False
    prefix = division[:2] if division.endswith("0000") else \
        division[:4] if division.endswith("00") else division
    return region.startswith(prefix)


# -- the service ------------------------------------------------------------------------
async def reset(registry: Registry) -> None:
    async with registry.app.state.registry.database.session() as session:
        await clear_tables(session, CLEANED)
        if await session.scalar(select(Agency).where(col(Agency.code) == GUANGZHOU[0])) is None:
            code, kind, name, region = GUANGZHOU
            session.add(Agency(code=code, kind=kind, name=name, region=region))
        await session.commit()


@dataclass(frozen=True)
class Row:
    judgment: str
    offender: str
    region: str
    sealed: bool


async def report_all(registry: Registry, drawn: list[Case]) -> list[Row]:
    numbers = []
    for case in drawn:
        penalty: dict[str, Any] = {"kind": case.penalty, "termMonths": case.term}
        if case.penalty == "SUPPLEMENTARY_ONLY":
            penalty["supplementary"] = ["deprivation of political rights"]
        value = report_input(
            defendant={"idNumber": id_number(case.region, case.birth),
                       "birthDate": case.birth.isoformat(), "residenceRegion": case.region},
            offenseDate=case.offence.isoformat(), penalty=penalty)
        body = await registry.gql(REPORT, {"input": value},
                                  as_=JUDGE_SHANGHAI if case.region == "310101" else JUDGE)
        assert "errors" not in body, (case, body)
        assert body["data"]["reportJudgment"]["notice"]["status"] == "REGISTERED", body
        numbers.append(value["judgmentNumber"])
    async with registry.app.state.registry.database.session() as session:
        found = {number: (jid, oid, seal) for number, jid, oid, seal in (
            await session.execute(
                select(col(Judgment.judgment_number), col(Judgment.public_id),
                       col(Offender.public_id), col(Judgment.seal_status))
                .join(Offender, col(Offender.id) == col(Judgment.offender_id))
                .where(col(Judgment.judgment_number).in_(numbers)))).all()}
    rows = []
    for case, number in zip(drawn, numbers, strict=True):
        jid, oid, seal = found[number]
        assert seal == ("sealed" if expected_sealed(case) else "open"), (case, seal)
        rows.append(Row(jid, oid, case.region, seal == "sealed"))
    return rows


LISTS = """{
  judgments(first: 10) { totalCount pageInfo { hasNextPage }
    edges { node { id sealStatus offender { id } } } }
  sealed: judgments(first: 10, filter: {sealStatus: SEALED}) { totalCount
    edges { node { id } } }
  offenders(first: 10) { totalCount edges { node { id
    judgments(first: 10) { totalCount edges { node { id sealStatus } } } } } }
  none: judgments(first: 0) { totalCount pageInfo { hasNextPage endCursor } }
  noneUncounted: offenders(first: 0) { pageInfo { hasNextPage } }
  back: judgments(last: 10) { totalCount pageInfo { hasPreviousPage hasNextPage }
    edges { node { id sealStatus } } }
  backSealed: judgments(last: 10, filter: {sealStatus: SEALED}) { totalCount
    edges { node { id } } }
  backOffenders: offenders(last: 10) { totalCount edges { node { id
    judgments(last: 10) { totalCount edges { node { id } } } } } }
}"""


def before_each(rows: list[Row]) -> str:
    """Backward pages before each row's cursor, the hidden rows' too (a cursor is only a
    position: it never lets a row through)."""
    return "{ " + "\n".join(
        f'b{n}: judgments(last: 10, before: "{encode_cursor(r.judgment)}") {{ totalCount '
        f'edges {{ node {{ id }} }} }}' for n, r in enumerate(rows)) + " }"


def by_id(rows: list[Row], offenders: list[str], lookup: str = "") -> str:
    """Every id once, by the typed lookups, or with `lookup="node"` by `node(id:)` under the
    same aliases (it must answer exactly as they do). (Asking for one record twice in an
    operation is its own test, in tests/api/test_visibility.py.)"""
    judgment = f"{lookup or 'judgment'}(id: "
    offender = f"{lookup or 'offender'}(id: "
    on_judgment, on_offender, close = ("... on Judgment { ", "... on Offender { ", " }") \
        if lookup else ("", "", "")
    parts = [f'j{n}: {judgment}"{r.judgment}") {{ {on_judgment}id sealStatus{close} }}'
             for n, r in enumerate(rows)]
    parts += [f'o{n}: {offender}"{o}") {{ {on_offender}id judgments {{ totalCount '
              f'edges {{ node {{ id }} }} }}{close} }}' for n, o in enumerate(offenders)]
    return "{ " + "\n".join(parts) + " }"


def ids(connection: dict[str, Any]) -> set[str]:
    return {e["node"]["id"] for e in connection["edges"]}


@hypothesis.settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=st.lists(cases(), min_size=1, max_size=6),
       asking=st.lists(requesters, min_size=1, max_size=4, unique=True))
async def test_no_response_ever_contains_a_record_the_rules_deny(
        registry: Registry, drawn: list[Case], asking: list[Principal]) -> None:
    await reset(registry)
    rows = await report_all(registry, drawn)
    offenders = sorted({r.offender for r in rows})
    lookups = by_id(rows, offenders)
    for principal in asking:
        visible = [r for r in rows if sees(principal, r.region)]
        visible_ids = {r.judgment for r in visible}
        visible_offenders = {r.offender for r in visible}
        sealed = {r.judgment for r in visible if r.sealed}
        body = await registry.gql(LISTS, as_=principal)
        assert "errors" not in body, (principal, body)
        data = body["data"]

        assert ids(data["judgments"]) == visible_ids, principal
        assert data["judgments"]["totalCount"] == len(visible_ids), principal
        assert not data["judgments"]["pageInfo"]["hasNextPage"]
        for edge in data["judgments"]["edges"]:
            node = edge["node"]
            assert node["sealStatus"] == ("SEALED" if node["id"] in sealed else "OPEN")
            assert node["offender"]["id"] in visible_offenders
        assert ids(data["sealed"]) == sealed, principal
        assert data["sealed"]["totalCount"] == len(sealed), principal

        assert ids(data["offenders"]) == visible_offenders, principal
        assert data["offenders"]["totalCount"] == len(visible_offenders), principal
        for edge in data["offenders"]["edges"]:
            own = {r.judgment for r in visible if r.offender == edge["node"]["id"]}
            assert ids(edge["node"]["judgments"]) == own, principal
            assert edge["node"]["judgments"]["totalCount"] == len(own)

        # A page of none says whether rows wait, and shows none of them.
        assert data["none"] == {"totalCount": len(visible_ids), "pageInfo": {
            "hasNextPage": bool(visible_ids), "endCursor": None}}, principal
        assert data["noneUncounted"]["pageInfo"]["hasNextPage"] == bool(visible_offenders)

        # Backward: the same rows, in the same order.
        forward = [e["node"]["id"] for e in data["judgments"]["edges"]]
        assert [e["node"]["id"] for e in data["back"]["edges"]] == forward, principal
        for edge in data["back"]["edges"]:
            node = edge["node"]
            assert node["sealStatus"] == ("SEALED" if node["id"] in sealed else "OPEN")
        assert data["back"]["totalCount"] == len(visible_ids)
        assert data["back"]["pageInfo"] == {"hasPreviousPage": False, "hasNextPage": False}
        assert ids(data["backSealed"]) == sealed, principal
        assert ids(data["backOffenders"]) == visible_offenders, principal
        for edge in data["backOffenders"]["edges"]:
            own = {r.judgment for r in visible if r.offender == edge["node"]["id"]}
            assert ids(edge["node"]["judgments"]) == own, principal
            assert edge["node"]["judgments"]["totalCount"] == len(own)

        body = await registry.gql(before_each(rows), as_=principal)
        assert "errors" not in body, (principal, body)
        for n, row in enumerate(rows):
            page = body["data"][f"b{n}"]
            assert page["totalCount"] == len(visible_ids), principal
            shown = [e["node"]["id"] for e in page["edges"]]
            assert set(shown) <= visible_ids - {row.judgment}, (principal, row)
            if row.judgment in visible_ids:
                assert shown == forward[:forward.index(row.judgment)], (principal, row)

        body = await registry.gql(lookups, as_=principal)
        assert "errors" not in body, (principal, body)
        data = body["data"]
        for n, row in enumerate(rows):
            if row.judgment in visible_ids:
                assert data[f"j{n}"] == {"id": row.judgment,
                                         "sealStatus": "SEALED" if row.sealed else "OPEN"}, \
                    principal
            else:
                assert data[f"j{n}"] is None, (principal, row)
        for n, offender in enumerate(offenders):
            if offender in visible_offenders:
                own = {r.judgment for r in visible if r.offender == offender}
                assert data[f"o{n}"]["id"] == offender
                assert ids(data[f"o{n}"]["judgments"]) == own
                assert data[f"o{n}"]["judgments"]["totalCount"] == len(own)
            else:
                assert data[f"o{n}"] is None, (principal, offender)
        assert await registry.gql(by_id(rows, offenders, "node"), as_=principal) == body
