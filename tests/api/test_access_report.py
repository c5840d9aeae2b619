"""`accessReport(from, to)`: misuse signals per requester for auditors (DESIGN.md §1.5,
issue 5), on SQLite and PostgreSQL; and the outlier rule as a table and a property."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schema.access_report import (
    FLOOR,
    AccessMeasure,
    PurposeCountView,
    RequesterView,
    find_outliers,
)
from schema.inquiries import Purpose
from tests.api.test_inquiries import ADULT, MINOR, person_with
from tests.cases import READ_CASE, case_of
from tests.factories import (
    AUDITOR,
    CLERK_DONGCHENG,
    EMPLOYER,
    JUDGE,
    RELEASE,
    REPORT,
    SECURITY_ADMIN,
    Registry,
    release_input,
    report_input,
)

ACCESS = """query Report($from: Date!, $to: Date!) { accessReport(from: $from, to: $to) {
  from to
  requesters { sub role agency inquiries { purpose count } reads recordsRead deniedAttempts
               sealedDisclosures caseNumbers notices unmatchedNotices unmatchedNoticeShare }
  outliers { sub role measure value peerMedian } } }"""
SUBMIT = """mutation Submit($input: SubmitInquiryInput!) {
  submitInquiry(input: $input) { id status records { id sealStatus } } }"""
EVENTS = """query Events($filter: AuditFilter) { auditEvents(filter: $filter, first: 100) {
  edges { node { sub action outcome resourceIds } } } }"""


def judge(name: str) -> tuple[str, str, str]:
    return (f"judge.{name}", "judge", "COURT-110101")


def window(days: int = 1) -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {"from": (today - timedelta(days=days)).isoformat(),
            "to": (today + timedelta(days=1)).isoformat()}


async def report(registry: Registry, who: Any = AUDITOR, **variables: Any) -> dict[str, Any]:
    return await registry.gql(ACCESS, variables or window(), as_=who)


def rows(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert "errors" not in body, body
    return {r["sub"]: r for r in body["data"]["accessReport"]["requesters"]}


async def case_inquiry(registry: Registry, who: Any, subject: str, case: str) -> dict[str, Any]:
    """`who` inquires in `case`; a judge in a case their court handles (registered by them,
    which adds no read, denial or case number to what they did)."""
    if who[1] == "judge":
        await case_of(registry, who, case, subject)
    body = await registry.gql(SUBMIT, {"input": {"purpose": "CASE_HANDLING",
                                                 "subjectIdNumber": subject,
                                                 "caseNumber": case}}, as_=who)
    return body


async def test_an_auditor_sees_per_requester_the_inquiries_by_purpose_denied_attempts_and_sealed_disclosures(  # noqa: E501
        registry: Registry) -> None:
    subject = await person_with(registry, ADULT, MINOR)
    asking = judge("asking")
    for case in ("C-1", "C-2"):
        body = await case_inquiry(registry, asking, subject, case)
        assert sorted(r["sealStatus"] for r in body["data"]["submitInquiry"]["records"]) == [
            "OPEN", "SEALED"]
    await registry.gql(EVENTS, as_=asking)  # denied: not an auditor
    denied = await case_inquiry(registry, EMPLOYER, subject, "C-3")  # denied: not a purpose
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    body = await report(registry)
    assert body["data"]["accessReport"]["from"] == window()["from"]
    found = rows(body)
    mine = found[asking[0]]
    assert (mine["role"], mine["agency"]) == ("judge", "COURT-110101")
    assert mine["inquiries"] == [{"purpose": "CASE_HANDLING", "count": 2}]
    assert (mine["deniedAttempts"], mine["sealedDisclosures"], mine["caseNumbers"]) == (1, 2, 2)
    assert mine["reads"] >= 2 and mine["recordsRead"] >= 4
    employer = found[EMPLOYER[0]]
    assert (employer["inquiries"], employer["deniedAttempts"], employer["sealedDisclosures"]
            ) == ([], 1, 0)
    # The reporting judge read no sealed record and asked nothing.
    assert (found[JUDGE[0]]["inquiries"], found[JUDGE[0]]["sealedDisclosures"]) == ([], 0)


async def test_activity_outside_the_window_is_not_counted(registry: Registry) -> None:
    subject = await person_with(registry, ADULT)
    await case_inquiry(registry, judge("asking"), subject, "C-1")
    long_ago = {"from": "2020-01-01", "to": "2020-12-31"}
    body = await report(registry, **long_ago)
    assert body["data"]["accessReport"] == {**long_ago, "requesters": [], "outliers": []}


async def test_a_requester_far_above_their_peers_is_flagged_and_ordinary_ones_are_not(
        registry: Registry) -> None:
    subject = await person_with(registry, ADULT)
    for name in ("one", "two", "three"):
        await case_inquiry(registry, judge(name), subject, f"C-{name}")
    heavy = judge("heavy")
    for n in range(FLOOR + 1):
        await case_inquiry(registry, heavy, subject, f"C-heavy-{n}")
    outliers = (await report(registry))["data"]["accessReport"]["outliers"]
    assert {o["sub"] for o in outliers} == {heavy[0]}
    [inquiries] = [o for o in outliers if o["measure"] == "INQUIRIES"]
    # Peers: the reporting judge (0) and three judges with one inquiry each.
    assert inquiries == {"sub": heavy[0], "role": "judge", "measure": "INQUIRIES",
                         "value": FLOOR + 1, "peerMedian": 1.0}
    assert {o["measure"] for o in outliers} >= {"INQUIRIES", "CASE_NUMBERS"}


@pytest.mark.parametrize("who", [CLERK_DONGCHENG, JUDGE, SECURITY_ADMIN],
                         ids=["clerk", "judge", "security-admin"])
async def test_anyone_but_an_auditor_is_forbidden_and_it_changes_nothing(
        registry: Registry, who: Any) -> None:
    subject = await person_with(registry, MINOR)
    await case_inquiry(registry, judge("asking"), subject, "C-1")
    before = rows(await report(registry))
    body = await report(registry, who)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None
    after = rows(await report(registry))
    # The refusal is itself a denied attempt of the one who asked, and nothing else moved.
    was = before[who[0]]["deniedAttempts"] if who[0] in before else 0
    assert after[who[0]]["deniedAttempts"] == was + 1
    assert {k: v for k, v in after.items() if k not in (who[0], AUDITOR[0])} == {
        k: v for k, v in before.items() if k not in (who[0], AUDITOR[0])}


async def test_anonymous_is_refused_before_the_api_and_nothing_is_counted(
        registry: Registry) -> None:
    subject = await person_with(registry, MINOR)
    await case_inquiry(registry, judge("asking"), subject, "C-1")
    before = rows(await report(registry))
    response = await registry.http.post("/graphql", json={"query": ACCESS,
                                                          "variables": window()})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    after = rows(await report(registry))
    assert "anonymous" not in after
    assert {k: v for k, v in after.items() if k != AUDITOR[0]} == {
        k: v for k, v in before.items() if k != AUDITOR[0]}


async def test_reading_the_report_is_audited(registry: Registry) -> None:
    body = await report(registry)
    assert "errors" not in body, body
    trail = await registry.gql(EVENTS, {"filter": {"sub": AUDITOR[0], "action": "audit:read"}},
                               as_=AUDITOR)
    ids = [i for e in trail["data"]["auditEvents"]["edges"] for i in e["node"]["resourceIds"]]
    span = window()
    assert f"access-report:{span['from']}..{span['to']}" in ids


@pytest.mark.parametrize(("variables", "message"), [
    ({"from": "2026-03-02", "to": "2026-03-01"}, "before"),
    ({"from": "2025-01-01", "to": "2026-01-02"}, "366 days"),
])
async def test_a_bad_window_is_bad_user_input_naming_the_field(
        registry: Registry, variables: dict[str, str], message: str) -> None:
    body = await report(registry, **variables)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "to"}
    assert message in body["errors"][0]["message"]
    assert "errors" not in await report(registry, **{"from": "2025-01-01", "to": "2026-01-01"})


async def test_a_bad_window_from_someone_else_is_still_forbidden(registry: Registry) -> None:
    body = await report(registry, JUDGE, **{"from": "2026-03-02", "to": "2026-03-01"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def officer(name: str) -> tuple[str, str, str]:
    return (f"officer.{name}", "prison_officer", "PRISON-110000")


async def releases(registry: Registry, who: Any, report: dict[str, Any], *, matched: int,
                   unmatched: int) -> list[str]:
    """`matched` releases of the reported judgment and `unmatched` of numbers nobody has:
    the ids of their notices."""
    ids = []
    for n in range(matched + unmatched):
        number = report["judgmentNumber"] if n < matched else f"(2026) unknown No. {n}"
        body = await registry.gql(RELEASE, {"input": release_input(
            report, judgmentNumber=number)}, as_=who)
        notice = body["data"]["reportRelease"]["notice"]
        assert notice["status"] == ("REGISTERED" if n < matched else "UNMATCHED"), body
        ids.append(notice["id"])
    return ids


async def test_a_sender_whose_notices_mostly_cannot_be_matched_is_flagged_on_its_unmatched_share(  # noqa: E501
        registry: Registry) -> None:
    reported = report_input()
    await registry.gql(REPORT, {"input": reported}, as_=JUDGE)
    for name in ("one", "two", "three"):
        await releases(registry, officer(name), reported, matched=3, unmatched=0)
    await releases(registry, officer("careless"), reported, matched=3, unmatched=1)
    probing = officer("probing")
    await releases(registry, probing, reported, matched=1, unmatched=FLOOR + 1)

    body = await report(registry)
    found = rows(body)
    assert {k: found[probing[0]][k] for k in ("notices", "unmatchedNotices",
                                             "unmatchedNoticeShare")} == {
        "notices": FLOOR + 2, "unmatchedNotices": FLOOR + 1,
        "unmatchedNoticeShare": 100 * (FLOOR + 1) // (FLOOR + 2)}
    assert (found[officer("careless")[0]]["unmatchedNoticeShare"],
            found[officer("one")[0]]["unmatchedNoticeShare"]) == (25, 0)
    # The court's judgment notice was matched: a share of none.
    assert (found[JUDGE[0]]["notices"], found[JUDGE[0]]["unmatchedNoticeShare"]) == (1, 0)
    share = [o for o in body["data"]["accessReport"]["outliers"]
             if o["measure"] == "UNMATCHED_NOTICE_SHARE"]
    assert share == [{"sub": probing[0], "role": "prison_officer",
                      "measure": "UNMATCHED_NOTICE_SHARE",
                      "value": 100 * (FLOOR + 1) // (FLOOR + 2), "peerMedian": 0.0}]


async def test_a_notice_counts_once_as_received_whatever_a_clerk_did_with_it_later(
        registry: Registry) -> None:
    reported = report_input()
    await registry.gql(REPORT, {"input": reported}, as_=JUDGE)
    who = officer("one")
    [matched, unmatched] = await releases(registry, who, reported, matched=1, unmatched=1)
    # The same notice sent again is a replay, not a second notice.
    queued = await registry.gql(QUEUED, as_=who)
    sent = queued["data"]["notices"]["edges"][0]["node"]["content"]
    await registry.gql(RELEASE, {"input": sent}, as_=who)
    rejected = await registry.gql(
        """mutation R($id: ID!) { rejectNotice(id: $id, reason: "no such judgment") {
             notice { status } } }""", {"id": unmatched}, as_=CLERK_DONGCHENG)
    assert rejected["data"]["rejectNotice"]["notice"]["status"] == "REJECTED"
    mine = rows(await report(registry))[who[0]]
    assert (mine["notices"], mine["unmatchedNotices"], mine["unmatchedNoticeShare"]) == (2, 1, 50)


QUEUED = """{ notices(status: UNMATCHED) { edges { node { content } } } }"""


# -- the outlier rule, without a database ------------------------------------------------

def requester(sub: str, role: str = "judge", *, inquiries: int = 0, reads: int = 0,
              denied: int = 0, notices: int = 0, unmatched: int = 0) -> RequesterView:
    counts = [PurposeCountView({}, Purpose.CASE_HANDLING, inquiries)] if inquiries else []
    return RequesterView({}, sub, role, "X", counts, reads=reads, denied_attempts=denied,
                         notices=notices, unmatched_notices=unmatched)


def flagged(views: list[RequesterView]) -> set[tuple[str, str]]:
    return {(o.sub, o.measure.name) for o in find_outliers(views)}


@pytest.mark.parametrize(("peers", "value", "flag"), [
    ([1, 1, 1], 6, True),           # 3 × median 1 = 3, MAD 0: 6 is far above
    ([1, 1, 1], 3, False),          # not above 3 × median, and below the floor
    ([0, 0, 0], FLOOR - 1, False),  # peers idle, but under the absolute floor
    ([0, 0, 0], FLOOR, True),
    ([10, 12, 14], 36, False),      # max(3 × 12, 12 + 3 × 2) = 36: not above
    ([10, 12, 14], 37, True),
    ([1, 1], 100, False),           # two peers are too few to judge by
    ([2, 10, 30], 31, False),       # wide peers: MAD 8, bar max(30, 34) = 34
])
def test_the_outlier_rule_as_a_table(peers: list[int], value: int, flag: bool) -> None:
    views = [requester(f"p{i}", inquiries=v) for i, v in enumerate(peers)]
    views.append(requester("x", inquiries=value))
    assert (("x", "INQUIRIES") in flagged(views)) is flag


def test_peers_are_of_the_same_role() -> None:
    views = [requester(f"c{i}", "registry_clerk", reads=100) for i in range(3)]
    views += [requester(f"j{i}", reads=2) for i in range(3)] + [requester("j", reads=3)]
    assert flagged(views) == set()


@settings(deadline=None)  # pure, but the suite runs on busy CPUs
@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=4, max_size=12),
       st.sampled_from([AccessMeasure.READS, AccessMeasure.DENIED_ATTEMPTS]))
def test_an_outlier_is_always_above_floor_and_three_times_its_peer_median(
        values: list[int], measure: AccessMeasure) -> None:
    views = [requester(f"r{i}", reads=v if measure is AccessMeasure.READS else 0,
                       denied=v if measure is AccessMeasure.DENIED_ATTEMPTS else 0)
             for i, v in enumerate(values)]
    for outlier in find_outliers(views):
        assert outlier.measure is measure
        assert outlier.value >= FLOOR and outlier.value > 3 * outlier.peer_median


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=1000), st.integers(min_value=3, max_value=10))
def test_requesters_all_alike_are_never_flagged(value: int, size: int) -> None:
    assert flagged([requester(f"r{i}", reads=value) for i in range(size)]) == set()


# (the peers' notices and unmatched notices, the requester's, flagged?)
SHARES = [
    ([(10, 0)] * 3, (FLOOR + 1, FLOOR), True),      # 83 % against none
    ([(10, 0)] * 3, (FLOOR - 1, FLOOR - 1), False),  # 100 %, but fewer than FLOOR unmatched
    ([(10, 1), (10, 2), (10, 3)], (100, 20), False),  # 20 %: max(3 × 20, 20 + 3 × 10) = 60
    ([(10, 1), (10, 2), (10, 3)], (100, 61), True),
    ([(10, 0)] * 2, (100, 100), False),              # two peers are too few to judge by
    ([(10, 0)] * 2 + [(0, 0)] * 5, (100, 100), False),  # who sent nothing is no peer
]


@pytest.mark.parametrize(("peers", "mine", "flag"), SHARES)
def test_the_unmatched_share_is_flagged_against_the_peers_who_sent_notices(
        peers: list[tuple[int, int]], mine: tuple[int, int], flag: bool) -> None:
    views = [requester(f"p{i}", "prison_officer", notices=n, unmatched=u)
             for i, (n, u) in enumerate(peers)]
    views.append(requester("x", "prison_officer", notices=mine[0], unmatched=mine[1]))
    assert (("x", "UNMATCHED_NOTICE_SHARE") in flagged(views)) is flag
    assert {m for _, m in flagged(views)} <= {"UNMATCHED_NOTICE_SHARE"}


async def test_reading_cases_counts_as_reads_of_criminal_information(registry: Registry) -> None:
    """Who is a suspect in which case is criminal information: case reads are reads."""
    police = ("police.reader", "police_officer", "PSB-110101")
    await case_of(registry, police, "C-READS-1", await person_with(registry, ADULT))
    before = rows(await report(registry)).get(police[0], {}).get("reads", 0)
    for _ in range(3):
        body = await registry.gql(READ_CASE, {"c": "C-READS-1"}, as_=police)
        assert body["data"]["case"]["caseNumber"] == "C-READS-1"
    assert rows(await report(registry))[police[0]]["reads"] == before + 3
