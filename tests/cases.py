"""Cases for tests (DESIGN.md §1.6): registered, handed on and closed through the API, as
the organs handling them do."""

from __future__ import annotations

from typing import Any

from tests.factories import JUDGE, POLICE, PROSECUTOR, Registry

CASE_FIELDS = "caseNumber agency { code } stage open parties { idNumber role } counsel"
REGISTER_CASE = ("mutation Register($input: RegisterCaseInput!) { registerCase(input: $input) { "
                 + CASE_FIELDS + " } }")
ADD_PARTY = ("mutation Add($c: String!, $p: CasePartyInput!) { addCaseParty(caseNumber: $c, "
             "party: $p) { " + CASE_FIELDS + " } }")
TRANSFER = ("mutation Transfer($c: String!, $to: String!, $stage: CaseStage!) { "
            "transferCase(caseNumber: $c, toAgency: $to, stage: $stage) { "
            + CASE_FIELDS + " } }")
CLOSE = "mutation Close($c: String!) { closeCase(caseNumber: $c) { " + CASE_FIELDS + " } }"
READ_CASE = "query Case($c: String!) { case(caseNumber: $c) { " + CASE_FIELDS + " } }"
REGISTER_COUNSEL = """mutation Counsel($c: String!, $l: String!, $s: String!) {
  registerDefenseCounsel(caseNumber: $c, lawyer: $l, suspectIdNumber: $s) }"""

# The stage a case is in while each kind of organ handles it.
STAGE_OF = {JUDGE[2]: "TRIAL", PROSECUTOR[2]: "PROSECUTION", POLICE[2]: "INVESTIGATION"}


def party(number: str, role: str = "SUSPECT") -> dict[str, str]:
    return {"idNumber": number, "role": role}


async def must(registry: Registry, query: str, variables: dict[str, Any], as_: Any
               ) -> dict[str, Any]:
    body = await registry.gql(query, variables, as_=as_)
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


async def register_case(registry: Registry, handler: Any, number: str,
                        parties: list[dict[str, str]], stage: str | None = None
                        ) -> dict[str, Any]:
    """The case `number`, registered by `handler`'s agency with `parties`."""
    value = {"caseNumber": number, "stage": stage or STAGE_OF.get(handler[2], "INVESTIGATION"),
             "parties": parties}
    return (await must(registry, REGISTER_CASE, {"input": value}, handler))["registerCase"]


async def add_party(registry: Registry, handler: Any, number: str, number_of_party: str,
                    role: str = "SUSPECT") -> dict[str, Any]:
    return (await must(registry, ADD_PARTY, {"c": number, "p": party(number_of_party, role)},
                       handler))["addCaseParty"]


async def transfer(registry: Registry, handler: Any, number: str, to: Any,
                   stage: str | None = None) -> dict[str, Any]:
    """Hands the case from `handler`'s agency to `to`'s (a principal or an agency code)."""
    code = to if isinstance(to, str) else to[2]
    return (await must(registry, TRANSFER, {"c": number, "to": code,
                                            "stage": stage or STAGE_OF.get(code, "TRIAL")},
                       handler))["transferCase"]


async def close(registry: Registry, handler: Any, number: str) -> dict[str, Any]:
    return (await must(registry, CLOSE, {"c": number}, handler))["closeCase"]


async def counsel(registry: Registry, handler: Any, number: str, lawyer: str,
                  suspect: str) -> None:
    """`lawyer` registered as counsel of `suspect` in the case, by its handling organ."""
    body = await registry.gql(REGISTER_COUNSEL, {"c": number, "l": lawyer, "s": suspect},
                              as_=handler)
    assert body == {"data": {"registerDefenseCounsel": True}}, body


async def case_of(registry: Registry, handler: Any, number: str, suspect: str, *,
                  role: str = "SUSPECT") -> str:
    """`number` handled by `handler`'s agency with `suspect` in `role`: registered if no
    case is, else the party added (the case must be that agency's already)."""
    body = await registry.gql(REGISTER_CASE, {"input": {
        "caseNumber": number, "stage": STAGE_OF.get(handler[2], "INVESTIGATION"),
        "parties": [party(suspect, role)]}}, as_=handler)
    if "errors" in body:
        assert body["errors"][0]["extensions"]["code"] == "CONFLICT", body
        await add_party(registry, handler, number, suspect, role)
    return number
