"""Attack 1: a document of a few hundred bytes whose fragments each spread the previous one
twice. Expanded, it is 2^n selections; validators that expand it froze the process (18
levels 1.3 s, 20 levels 5 s with /healthz waiting, 39 levels until killed). Validation
must take time linear in the document: each fragment is measured once and the document is
refused with QUERY_TOO_COMPLEX before any validator walks the expansion.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from graphql import parse

from schema.limits import Limits, _Expansion, examine
from tests.factories import Registry, id_number
from tests.security.conftest import audit_count

INDIVIDUAL_ID = id_number()


def doubling(levels: int, leaf: str = "me { sub }", root: str = "Query") -> str:
    """`F1` spreads `F0` twice, `F2` spreads `F1` twice, ..., the operation spreads the last."""
    fragments = [f"fragment F0 on {root} {{ {leaf} }}"]
    fragments += [f"fragment F{i} on {root} {{ ...F{i - 1} ...F{i - 1} }}"
                  for i in range(1, levels + 1)]
    return "\n".join(fragments) + f"\n{{ ...F{levels} }}"


async def as_individual(registry: Registry, document: str) -> tuple[dict[str, Any], float]:
    token = registry.token("person.one", "individual", None, INDIVIDUAL_ID)
    # Warm: the app's first request loads the policy set, which is not what is timed.
    await registry.http.post("/graphql", json={"query": "{ me { sub } }"},
                             headers={"Authorization": f"Bearer {token}"})
    started = time.perf_counter()
    response = await registry.http.post("/graphql", json={"query": document},
                                        headers={"Authorization": f"Bearer {token}"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body, elapsed


def too_complex(body: dict[str, Any]) -> None:
    assert body.get("data") is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"], body


async def test_a_fragment_bomb_of_40_levels_in_1_6_kb_is_refused_in_milliseconds(
        registry: Registry) -> None:
    document = doubling(40)
    assert len(document.encode()) < 1700
    audited = await audit_count(registry)
    body, elapsed = await as_individual(registry, document)
    too_complex(body)
    assert "cost" in body["errors"][0]["message"]
    assert elapsed < 0.5, f"{elapsed:.3f} s"
    assert await audit_count(registry) == audited, "a resolver ran for a refused document"


async def test_a_20_level_bomb_no_longer_takes_seconds(registry: Registry) -> None:
    # 5 s before the fix, with every other request of the process waiting.
    body, elapsed = await as_individual(registry, doubling(20))
    too_complex(body)
    assert elapsed < 0.5, f"{elapsed:.3f} s"


async def test_healthz_answers_while_a_bomb_is_examined(registry: Registry) -> None:
    async def healthz() -> float:
        await asyncio.sleep(0.005)
        started = time.perf_counter()
        response = await registry.http.get("/healthz")
        assert response.status_code == 200
        return time.perf_counter() - started

    (body, _), waited = await asyncio.gather(as_individual(registry, doubling(39)), healthz())
    too_complex(body)
    assert waited < 0.5, f"/healthz waited {waited:.3f} s"


async def test_a_bomb_of_aliases_is_refused(registry: Registry) -> None:
    body, elapsed = await as_individual(registry, doubling(40, leaf="me { a: sub }"))
    too_complex(body)
    assert elapsed < 0.5, f"{elapsed:.3f} s"


async def test_a_bomb_of_inline_fragments_is_refused(registry: Registry) -> None:
    document = doubling(40, leaf="... on Query { me { ... on Subject { sub } } }")
    body, elapsed = await as_individual(registry, document)
    too_complex(body)
    assert elapsed < 0.5, f"{elapsed:.3f} s"


async def test_a_bomb_inside_a_fragment_cycle_is_refused_without_hanging(
        registry: Registry) -> None:
    # The cycle (F40 back to F0) is cut where it closes; graphql-core then names it.
    document = doubling(40).replace("fragment F0 on Query { me { sub } }",
                                    "fragment F0 on Query { me { sub } ...F40 }")
    body, elapsed = await as_individual(registry, document)
    assert body.get("data") is None
    assert body["errors"] and "INTERNAL" not in {e["extensions"]["code"] for e in body["errors"]}
    assert elapsed < 0.5, f"{elapsed:.3f} s"


async def test_a_small_fragment_spread_twice_still_runs(registry: Registry) -> None:
    body, _ = await as_individual(registry, doubling(2))
    assert "errors" not in body, body
    assert body["data"] == {"me": {"sub": "person.one"}}


@pytest.mark.parametrize("levels", [40, 100, 190])
def test_examining_a_bomb_visits_each_selection_set_once(
        levels: int, monkeypatch: pytest.MonkeyPatch) -> None:
    document = parse(doubling(levels), max_tokens=2000)
    visits = 0
    original = _Expansion.selections

    def counted(self: _Expansion, selection_set: Any) -> Any:
        nonlocal visits
        visits += 1
        return original(self, selection_set)

    monkeypatch.setattr(_Expansion, "selections", counted)
    verdict = examine(document, Limits())
    assert verdict.problem is not None and "cost" in verdict.problem
    # One visit per field and selection set written in the document (the operation's, each
    # fragment's, `me`'s and `sub`'s) and none for the spreads that repeat them.
    assert visits == levels + 4


def test_examining_grows_linearly_with_the_document() -> None:
    def seconds(levels: int) -> float:
        document = parse(doubling(levels), max_tokens=4000)
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            examine(document, Limits())
            best = min(best, time.perf_counter() - started)
        return best

    small, large = seconds(40), seconds(320)
    # Eight times the document; exponential growth would be 2^280 times. Generous for noise.
    assert large < small * 30, (small, large)
