"""Test data: valid identity numbers, report inputs, principals and a GraphQL client."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from starlette.applications import Starlette

from api.auth import CLI_CLIENT_ID
from api.settings import Settings
from policies.identity import id_number_check_char

_serial = itertools.count(1)


def id_number(region: str = "110101", birth: date = date(1990, 5, 17),
              serial: int | None = None) -> str:
    first17 = f"{region}{birth:%Y%m%d}{(serial or next(_serial)) % 1000:03d}"
    return first17 + id_number_check_char(first17)


def report_input(**overrides: Any) -> dict[str, Any]:
    """A valid ReportJudgmentInput (an adult, 12 months' imprisonment, Dongcheng)."""
    n = next(_serial)
    defendant = {"idNumber": id_number(serial=n), "name": "Wang Wei", "birthDate": "1990-05-17",
                 "gender": "male", "residenceRegion": "110101"}
    defendant.update(overrides.pop("defendant", {}))
    value: dict[str, Any] = {
        "noticeNumber": f"N-{n}", "judgmentNumber": f"(2026) Jing 0101 Xing Chu No. {n}",
        "prosecutor": "Dongcheng District People's Procuratorate",
        "judgmentDate": "2026-09-01", "effectiveDate": "2026-09-12",
        "offenseDate": "2026-03-02", "defendant": defendant,
        "crimes": [{"name": "Theft", "article": "Art. 264"}],
        "penalty": {"kind": "FIXED_TERM_IMPRISONMENT", "termMonths": 12},
    }
    value.update(overrides)
    return value


REPORT = """mutation Report($input: ReportJudgmentInput!) {
  reportJudgment(input: $input) {
    judgment { id sealStatus ageAtOffense offender { id idNumber } }
    notice { id kind noticeNumber status late reason receivingAuthority { code } }
  }
}"""


@dataclass
class Registry:
    """An app under test and a way to talk to it as any principal."""

    app: Starlette
    settings: Settings
    http: httpx.AsyncClient
    # Out of every repr (hypothesis prints its test's arguments): no token in a test log.
    tokens: dict[tuple[str, str, str | None, str | None], str] = field(
        default_factory=dict, init=False, repr=False)

    def token(self, sub: str, role: str, agency: str | None = None,
              id_number: str | None = None) -> str:
        key = (sub, role, agency, id_number)
        if key not in self.tokens:
            issuer = self.app.state.registry.issuer
            # As `registry token issue` mints them: each subject has its own bucket of cost
            # points (api/ratelimit.py), so one test's principals do not share one.
            self.tokens[key] = issuer.issue(sub=sub, role=role, client_id=CLI_CLIENT_ID,
                                            agency=agency, id_number=id_number)
        return self.tokens[key]

    async def gql(self, query: str, variables: dict[str, Any] | None = None, *,
                  as_: tuple[str, str, str | None] | str) -> dict[str, Any]:
        token = as_ if isinstance(as_, str) else self.token(*as_)
        response = await self.http.post("/graphql", json={"query": query,
                                                          "variables": variables or {}},
                                        headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return without_cost(body)


def without_cost(body: dict[str, Any]) -> dict[str, Any]:
    """The answer without `extensions.cost` (checked to be there): what domain tests compare.
    Its `currentlyAvailable` changes from one request to the next; tests/security/abuse/
    test_3_rate_limits.py is where the cost itself is tested."""
    extensions = dict(body.get("extensions") or {})
    cost = extensions.pop("cost", None)
    assert cost is not None and set(cost) == {
        "requestedQueryCost", "actualQueryCost", "throttleStatus"}, body
    stripped = {key: value for key, value in body.items() if key != "extensions"}
    if extensions:
        stripped["extensions"] = extensions
    return stripped


# Principals of the demo agencies (api/seed.py): (sub, role, agency).
CLERK_DONGCHENG = ("clerk.dongcheng", "registry_clerk", "REG-110101")
CLERK_BEIJING = ("clerk.beijing", "registry_clerk", "REG-110000")
CLERK_SHANGHAI = ("clerk.shanghai", "registry_clerk", "REG-310000")
JUDGE = ("judge.dongcheng", "judge", "COURT-110101")
JUDGE_SHANGHAI = ("judge.huangpu", "judge", "COURT-310101")
PROSECUTOR = ("prosecutor.dongcheng", "prosecutor", "PROC-110101")
POLICE = ("police.dongcheng", "police_officer", "PSB-110101")
LAWYER = ("lawyer.zhang", "defense_lawyer", "LAW-110101")
EMPLOYER = ("hr.transit", "employer", "EMP-110101")
AUDITOR = ("auditor.one", "auditor", "REG-110000")
SECURITY_ADMIN = ("security.admin", "security_admin", "REG-110000")
# A clerk-looking principal whose agency is a court: role alone must not be enough.
CLERK_AT_A_COURT = ("clerk.fake", "registry_clerk", "COURT-110101")

# Reporting agencies of the demo set: a prison, and a county judicial administration.
PRISON_OFFICER = ("officer.prison", "prison_officer", "PRISON-110000")
JA_OFFICER = ("officer.justice", "judicial_admin_officer", "JA-110101")

NOTICE_FIELDS = """notice { id kind noticeNumber status late reason eventDate dueDate delayDays
  receivingAuthority { code } sender { code } }"""
RELEASE = ("mutation Release($input: ReportReleaseInput!) { reportRelease(input: $input) { "
           + NOTICE_FIELDS + " } }")
EXPIRY = ("mutation Expiry($input: ReportCorrectionExpiryInput!) { "
          "reportCorrectionExpiry(input: $input) { " + NOTICE_FIELDS + " } }")


def release_input(report: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A ReportReleaseInput for the person and judgment of a report_input()."""
    value: dict[str, Any] = {"noticeNumber": f"R-{next(_serial)}",
                             "judgmentNumber": report["judgmentNumber"],
                             "idNumber": report["defendant"]["idNumber"],
                             "releaseDate": "2026-11-20"}
    value.update(overrides)
    return value


def expiry_input(report: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A ReportCorrectionExpiryInput for the person and judgment of a report_input()."""
    value: dict[str, Any] = {"noticeNumber": f"E-{next(_serial)}",
                             "judgmentNumber": report["judgmentNumber"],
                             "idNumber": report["defendant"]["idNumber"],
                             "expiryDate": "2026-11-20"}
    value.update(overrides)
    return value


def detention_input(**overrides: Any) -> dict[str, Any]:
    """A valid RegisterDetentionInput (a criminal detention of an adult of Dongcheng)."""
    n = next(_serial)
    person = {"idNumber": id_number(serial=n), "name": "Li Na", "birthDate": "1990-05-17",
              "gender": "female", "residenceRegion": "110101"}
    person.update(overrides.pop("person", {}))
    value: dict[str, Any] = {"kind": "CRIMINAL", "caseNumber": f"Jing Gong Xing Ju No. {n}",
                             "person": person, "startDate": "2026-11-02",
                             "endDate": "2026-11-09"}
    value.update(overrides)
    return value


REGISTER_DETENTION = """mutation Register($input: RegisterDetentionInput!) {
  registerDetention(input: $input) {
    detention { id kind caseNumber startDate endDate status agency { code } }
  }
}"""

CLOSE_DETENTION = """mutation Close($id: ID!, $dismissed: Boolean!) {
  closeDetentionCase(id: $id, dismissed: $dismissed) {
    detention { id kind caseNumber startDate endDate status }
  }
}"""
