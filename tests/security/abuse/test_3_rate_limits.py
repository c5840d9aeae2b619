"""Attack 3: wearing the service out. There was no rate limit: one token sustained 850
requests a second of `me` and 158 of audited reads. Each requester (its client, else its
subject) now has a bucket of cost points (REGISTRY_RATE_BUCKET, refilled at
REGISTRY_RATE_RESTORE a second), shared through Redis by every process where
REGISTRY_REDIS_URL is set; an operation's price is its query cost, taken before it runs
(RATE_LIMITED where it does not fit) and adjusted to what the answer held afterwards.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.ratelimit import MemoryBuckets, RedisBuckets
from api.settings import Settings
from db.models import Judgment
from tests.factories import CLERK_DONGCHENG, JUDGE, REPORT, Registry, report_input
from tests.security.conftest import audit_count, count, serve

ME = "{ me { sub role } }"  # costs 3: me, sub, role
PAGE = "{ judgments(first: 20) { edges { node { id } } } }"  # estimated 1 + 3 x 20 = 61


DEFAULTS = {"rate_bucket": Settings.rate_bucket, "rate_restore": Settings.rate_restore}


@pytest.fixture(params=["memory", "redis"])
def bucket_settings(request: pytest.FixtureRequest, registry: Registry) -> Settings:
    """The registry's settings with the default buckets, in this process or in the real
    Redis (the `registry` fixture's own buckets are bottomless)."""
    if request.param == "memory":
        return registry.settings.with_(**DEFAULTS)
    url = request.getfixturevalue("redis_url")
    return registry.settings.with_(redis_url=url, **DEFAULTS,
                                   redis_prefix=request.getfixturevalue("redis_prefix"))


async def ask(app: Registry, query: str, token: str, variables: dict[str, Any] | None = None
              ) -> httpx.Response:
    return await app.http.post("/graphql", json={"query": query, "variables": variables or {}},
                               headers={"Authorization": f"Bearer {token}"})


def token(app: Registry, sub: str, client_id: str, role: str = "registry_clerk",
          agency: str | None = "REG-110101") -> str:
    return app.app.state.registry.issuer.issue(sub=sub, role=role, client_id=client_id,
                                               agency=agency)


def cost(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["extensions"]["cost"]
    return found


async def test_one_token_cannot_sustain_more_than_its_restore_rate(
        bucket_settings: Settings) -> None:
    # 1,000 points (the default), 5 a second (a tenth of it, so that even a loaded machine,
    # 420 requests taking over 5 s, cannot make the refill keep up). `{ me }` costs 3.
    async with serve(bucket_settings.with_(rate_restore=5.0)) as app:
        clerk = token(app, "clerk.fast", "portal-a")
        started = time.monotonic()
        answers = [await ask(app, ME, clerk) for _ in range(420)]
        elapsed = time.monotonic() - started
    allowed = sum("data" in a.json() for a in answers)
    limited = [a for a in answers if "data" not in a.json()]
    assert limited, "420 requests of 3 points each all passed a 1,000-point bucket"
    assert allowed <= (1000 + 5 * elapsed) / 3 + 1, (allowed, elapsed)
    [error] = limited[0].json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert limited[0].headers["retry-after"] == str(error["extensions"]["retryAfter"])
    assert int(limited[0].headers["retry-after"]) >= 1


async def test_every_answer_reports_its_cost(bucket_settings: Settings) -> None:
    async with serve(bucket_settings) as app:
        clerk = token(app, "clerk.cost", "portal-b")
        answer = cost(await ask(app, ME, clerk))
        assert answer == {"requestedQueryCost": 3, "actualQueryCost": 3,
                          "throttleStatus": {"maximumAvailable": 1000,
                                             "currentlyAvailable": 997,
                                             "restoreRate": 50.0}}
        invalid = await ask(app, "{ me { nonsense } }", clerk)
        assert "data" not in invalid.json()
        assert cost(invalid)["actualQueryCost"] == 1  # refused before it ran: one point
        unparsable = cost(await ask(app, "{ me {", clerk))
        assert unparsable["requestedQueryCost"] == 0 and unparsable["actualQueryCost"] == 1
        empty = cost(await ask(app, "", clerk))
        assert empty["actualQueryCost"] == 1


async def test_the_unused_part_of_an_estimate_is_given_back(bucket_settings: Settings,
                                                            registry: Registry) -> None:
    await registry.gql(REPORT, {"input": report_input()}, as_=JUDGE)
    async with serve(bucket_settings) as app:
        clerk = app.token(*CLERK_DONGCHENG)
        page = cost(await ask(app, PAGE, clerk))
        # One judgment: judgments, edges, one node, its id.
        assert page["requestedQueryCost"] == 61
        assert page["actualQueryCost"] == 4
        # 61 taken, 57 given back (and a little refilled meanwhile), not 61 spent.
        assert 995 <= page["throttleStatus"]["currentlyAvailable"] <= 1000


async def test_a_rate_limited_operation_runs_nothing(bucket_settings: Settings) -> None:
    small = bucket_settings.with_(rate_bucket=100, rate_restore=0.01)
    async with serve(small) as app:
        judge = app.token(*JUDGE)
        mutation = "mutation R($input: ReportJudgmentInput!) { reportJudgment(input: $input) {" \
                   " notice { id status } } }"  # costs 4
        while cost(await ask(app, ME, judge))["throttleStatus"]["currentlyAvailable"] >= 4:
            pass
        judgments, audited = await count(app, Judgment), await audit_count(app)
        refused = await ask(app, mutation, judge, {"input": report_input()})
        body = refused.json()
        assert "data" not in body
        assert [e["extensions"]["code"] for e in body["errors"]] == ["RATE_LIMITED"]
        assert cost(refused)["actualQueryCost"] == 0
        assert await count(app, Judgment) == judgments
        assert await audit_count(app) == audited


async def test_a_document_dearer_than_the_whole_bucket_is_too_complex_not_rate_limited(
        bucket_settings: Settings) -> None:
    # Such a document could never run: waiting would not help, so it is not RATE_LIMITED.
    async with serve(bucket_settings.with_(rate_bucket=50)) as app:
        body = (await ask(app, PAGE, app.token(*CLERK_DONGCHENG))).json()
        assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]


async def test_a_flood_of_junk_empties_the_bucket_too(bucket_settings: Settings) -> None:
    async with serve(bucket_settings.with_(rate_bucket=20, rate_restore=0.01)) as app:
        clerk = token(app, "clerk.junk", "portal-c")
        for _ in range(20):
            await ask(app, "{ me {", clerk)
        body = (await ask(app, ME, clerk)).json()
        assert [e["extensions"]["code"] for e in body["errors"]] == ["RATE_LIMITED"]


async def test_the_bucket_is_the_clients_else_the_subjects(bucket_settings: Settings) -> None:
    async with serve(bucket_settings.with_(rate_bucket=30, rate_restore=0.01)) as app:
        def available(response: httpx.Response) -> int:
            return int(cost(response)["throttleStatus"]["currentlyAvailable"])

        # Two people through one client share its bucket.
        assert available(await ask(app, ME, token(app, "a", "firm-portal"))) == 27
        assert available(await ask(app, ME, token(app, "b", "firm-portal"))) == 24
        # Another client has its own.
        assert available(await ask(app, ME, token(app, "a", "other-portal"))) == 27
        # Tokens the operator issued (client registry-cli) are each subject's own.
        assert available(await ask(app, ME, token(app, "c", "registry-cli"))) == 27
        assert available(await ask(app, ME, token(app, "d", "registry-cli"))) == 27


async def test_the_bucket_refills_at_the_restore_rate(bucket_settings: Settings) -> None:
    async with serve(bucket_settings.with_(rate_bucket=9, rate_restore=20.0)) as app:
        clerk = token(app, "clerk.refill", "portal-d")
        # Until refused: on a loaded machine a few points may come back meanwhile.
        for _ in range(20):
            limited = (await ask(app, ME, clerk)).json()
            if "errors" in limited:
                break
        assert limited["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        await asyncio.sleep(0.2)  # 4 points back at 20 a second
        assert "data" in (await ask(app, ME, clerk)).json()


async def test_two_apps_on_one_redis_share_one_bucket(registry: Registry, redis_url: str,
                                                      redis_prefix: str) -> None:
    shared = registry.settings.with_(redis_url=redis_url, redis_prefix=redis_prefix,
                                     rate_bucket=30, rate_restore=0.01)
    async with serve(shared) as first, serve(shared) as second:
        clerk = token(first, "clerk.shared", "portal-e")
        answers = [await ask(app, ME, clerk) for app in (first, second) * 6]
    assert [("data" in a.json()) for a in answers] == [True] * 10 + [False] * 2
    assert cost(answers[9])["throttleStatus"]["currentlyAvailable"] == 0


async def test_concurrent_requests_never_overspend_a_bucket(bucket_settings: Settings) -> None:
    async with serve(bucket_settings.with_(rate_bucket=60, rate_restore=0.01)) as app:
        clerk = token(app, "clerk.race", "portal-f")
        answers = await asyncio.gather(*[ask(app, ME, clerk) for _ in range(40)])
    assert sum("data" in a.json() for a in answers) == 20


@pytest.fixture
async def limited_production(settings: Settings) -> AsyncIterator[Registry]:
    async with serve(settings.with_(env="production", rate_bucket=10, rate_restore=0.01)) as app:
        yield app


async def test_rate_limits_hold_in_production_too(limited_production: Registry,
                                                  registry: Registry) -> None:
    clerk = token(limited_production, "clerk.prod", "portal-g")
    codes = []
    for _ in range(4):
        body = (await ask(limited_production, ME, clerk)).json()
        codes.append(body["errors"][0]["extensions"]["code"] if "errors" in body else "OK")
    assert codes == ["OK", "OK", "OK", "RATE_LIMITED"]


def _spend(url: str, prefix: str, attempts: int, start: Any, results: Any) -> None:
    """In a process of its own: once both are ready, `attempts` concurrent one-point takes;
    puts how many passed."""
    async def spend() -> int:
        buckets = RedisBuckets(url, prefix, capacity=200, restore_rate=0.001)
        try:
            await buckets.change("sub:warm-up", 0)  # connected before the race starts
            start.wait(timeout=30)
            found = await asyncio.gather(*[buckets.change("sub:racer", 1)
                                           for _ in range(attempts)])
        finally:
            await buckets.close()
        return sum(t.allowed for t in found)

    results.put(asyncio.run(spend()))


def test_two_processes_never_both_spend_the_last_points(redis_url: str,
                                                        redis_prefix: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(2), spawn.Queue()
    processes = [spawn.Process(target=_spend, args=(redis_url, redis_prefix, 300, start, results))
                 for _ in range(2)]
    for process in processes:
        process.start()
    spent = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=10)
    assert sum(spent) == 200, spent
    assert all(n > 0 for n in spent), spent  # both processes really took part


async def test_a_bucket_in_memory_refills_continuously_up_to_its_capacity() -> None:
    now = [0.0]
    buckets = MemoryBuckets(100, 10.0, clock=lambda: now[0])
    assert (await buckets.change("k", 100)).available == 0
    assert not (await buckets.change("k", 1)).allowed
    now[0] = 0.55
    refilled = await buckets.change("k", 5)
    assert refilled.allowed and refilled.available == pytest.approx(0.5)
    assert refilled.retry_after(3) == 1
    now[0] = 1000.0
    assert (await buckets.change("k", 0)).available == 100  # never above capacity
    assert (await buckets.change("k", -50)).available == 100  # nor by a give-back


async def test_a_crowd_of_requesters_costs_a_scan_now_and_then_not_one_per_request() -> None:
    now = [0.0]
    buckets = MemoryBuckets(10, 0.001, limit=100, clock=lambda: now[0])
    for n in range(101):  # none of them refills: nothing is full to forget
        now[0] += 1.0
        await buckets.change(f"k{n}", 10)
    assert len(buckets._buckets) == 50  # the 51 idlest went
    assert "k100" in buckets._buckets and "k0" not in buckets._buckets
    for n in range(101, 150):
        await buckets.change(f"k{n}", 10)
    assert len(buckets._buckets) == 99  # no scan until the limit is passed again


async def test_a_forgotten_requester_is_one_with_a_full_bucket() -> None:
    now = [0.0]
    buckets = MemoryBuckets(10, 1.0, limit=3, clock=lambda: now[0])
    for key in ("a", "b", "c"):
        await buckets.change(key, 10)
    now[0] = 10.0
    await buckets.change("d", 1)  # past the limit: the full ones go
    assert set(buckets._buckets) == {"d"}
    now[0] = 10.5
    assert (await buckets.change("a", 10)).allowed


async def test_while_redis_is_unreachable_each_process_still_limits(unused_tcp_port: int
                                                                    ) -> None:
    buckets = RedisBuckets(f"redis://127.0.0.1:{unused_tcp_port}/0", "nowhere", 5, 0.001,
                           timeout=0.5)
    try:
        taken = [await buckets.change("sub:x", 2) for _ in range(3)]
    finally:
        await buckets.close()
    assert [t.allowed for t in taken] == [True, True, False]


class CountedTrips:
    """Counts one RedisBuckets' round trips to Redis."""

    def __init__(self, buckets: RedisBuckets) -> None:
        self.trips = 0
        take = buckets._take

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.trips += 1
            return await take(*args, **kwargs)

        buckets._take = counted


async def test_cheap_requests_do_not_each_cost_a_round_trip_to_redis(
        redis_url: str, redis_prefix: str) -> None:
    # One EVALSHA is ~110-150 µs of CPU with redis-py, a third of a `{ me }`: a process
    # leases 5% of a bucket ahead, from its upper half.
    buckets = RedisBuckets(redis_url, redis_prefix, capacity=1000, restore_rate=0.001)
    counted = CountedTrips(buckets)
    try:
        taken = [await buckets.change("sub:cheap", 3) for _ in range(100)]
    finally:
        await buckets.close()
    assert all(t.allowed for t in taken)
    assert [int(t.available) for t in taken[:3]] == [997, 994, 991]
    assert counted.trips <= 100 * 3 // 50 + 1, counted.trips


async def test_leases_never_let_processes_spend_past_the_bucket_nor_strand_its_last_points(
        redis_url: str, redis_prefix: str) -> None:
    first, second = (RedisBuckets(redis_url, redis_prefix, capacity=200, restore_rate=0.001)
                     for _ in range(2))
    allowed = 0
    try:
        for _ in range(300):
            for buckets in (first, second):
                allowed += (await buckets.change("client:shared", 1)).allowed
        # Below half of the bucket no lease is granted: every last point was spent by
        # someone, none left in a lease while the other process is refused.
        assert allowed == 200
        assert not (await first.change("client:shared", 1)).allowed
        assert not (await second.change("client:shared", 1)).allowed
    finally:
        await first.close()
        await second.close()


async def test_the_rest_of_a_lease_goes_back_with_the_next_take_once_its_time_is_up(
        redis_url: str, redis_prefix: str) -> None:
    now = [0.0]
    mine = RedisBuckets(redis_url, redis_prefix, capacity=1000, restore_rate=0.001,
                        clock=lambda: now[0])
    other = RedisBuckets(redis_url, redis_prefix, capacity=1000, restore_rate=0.001)
    try:
        assert (await mine.change("sub:x", 1)).available == pytest.approx(999, abs=0.1)
        # 50 points sit in `mine`'s lease: another process sees them taken.
        assert (await other.change("sub:x", 0)).available == pytest.approx(949, abs=0.1)
        now[0] += RedisBuckets.LEASE_SECONDS
        await mine.change("sub:x", 600)  # a take too dear for a lease: its own round trip
        # 1 + 600 spent; the 49 left of the lease went back with that take.
        assert (await other.change("sub:x", 0)).available == pytest.approx(399, abs=0.1)
    finally:
        await mine.close()
        await other.close()


async def test_a_give_back_returns_to_the_lease_it_fits_in(redis_url: str,
                                                           redis_prefix: str) -> None:
    buckets = RedisBuckets(redis_url, redis_prefix, capacity=1000, restore_rate=0.001)
    counted = CountedTrips(buckets)
    try:
        await buckets.change("sub:y", 10)  # 10 spent, 50 leased
        await buckets.change("sub:y", 10)  # from the lease: 40 left in it
        assert (await buckets.change("sub:y", -4)).available == pytest.approx(984, abs=0.1)
        assert counted.trips == 1
        # More than a lease holds goes back to Redis, and the lease with it.
        assert (await buckets.change("sub:y", -10)).available == pytest.approx(994, abs=0.1)
        assert counted.trips == 2
        assert (await buckets.change("sub:y", 0)).available == pytest.approx(994, abs=0.1)
    finally:
        await buckets.close()


async def test_a_take_cancelled_while_waiting_for_its_buckets_round_trip_leaves_no_trace(
        redis_url: str, redis_prefix: str) -> None:
    buckets = RedisBuckets(redis_url, redis_prefix, capacity=1000, restore_rate=0.001)
    try:
        first = asyncio.ensure_future(buckets.change("sub:z", 1))
        waiting = asyncio.ensure_future(buckets.change("sub:z", 1))
        await asyncio.sleep(0)
        waiting.cancel()
        assert (await first).allowed
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert not buckets._in_flight
        assert (await buckets.change("sub:z", 1)).available == pytest.approx(998, abs=0.1)
    finally:
        await buckets.close()
