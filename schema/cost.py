"""What an operation costs its requester (CONTRACT.md §2, DESIGN.md §3 "Abuse").

The price is the query cost of schema/limits.py (each field 1, times the page sizes around
it): taken from the requester's bucket before the operation runs, refused with
RATE_LIMITED where it does not fit, and the difference between that estimate and what the
answer actually held given back afterwards. A document refused before it runs (it does not
parse, validate or fit the limits) costs one point: a flood of junk empties the bucket too.
Every answer says so in `extensions.cost`.

The bucket itself belongs to the API (api/ratelimit.py: in Redis, or in this process);
the context carries it, bound to the requester. The bulk importer's context has none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from schema.errors import RegistryError
from schema.limits import DocumentExaminer

REFUSED_PRICE = 1


@dataclass(frozen=True)
class Throttle:
    """A bucket's state after one take or give-back."""

    allowed: bool
    available: float
    capacity: int
    restore_rate: float

    def retry_after(self, cost: int) -> int:
        """Whole seconds until `cost` points are back (at least 1)."""
        missing = max(0.0, cost - self.available)
        return max(1, int(-(-missing // self.restore_rate)))

    def status(self) -> dict[str, Any]:
        return {"maximumAvailable": self.capacity,
                "currentlyAvailable": int(self.available),
                "restoreRate": self.restore_rate}


class CostBudget(Protocol):
    """One requester's bucket."""

    capacity: int

    async def take(self, cost: int) -> Throttle:
        """Takes `cost` points if they are all there; `allowed` says whether it did."""

    async def give_back(self, points: int) -> Throttle: ...


class RateLimited(RegistryError):
    code = "RATE_LIMITED"

    def __init__(self, cost: int, throttle: Throttle) -> None:
        self.retry_after = throttle.retry_after(cost)
        super().__init__(f"this operation costs {cost} points and "
                         f"{int(throttle.available)} are available; retry in "
                         f"{self.retry_after} s", retryAfter=self.retry_after)


class OverBudget(RegistryError):
    """A document that costs more than the whole bucket holds can never run."""

    code = "QUERY_TOO_COMPLEX"


def actual_cost(data: Any) -> int:
    """The fields the answer holds, each instance counted once (a page of 3 rows costs its 3
    rows, not the 20 the estimate assumed)."""
    if isinstance(data, dict):
        return len(data) + sum(actual_cost(value) for value in data.values()
                               if isinstance(value, dict | list))
    if isinstance(data, list):
        return sum(actual_cost(item) for item in data if isinstance(item, dict | list))
    return 0


def cost_extension(examiner: DocumentExaminer) -> Callable[[], SchemaExtension]:
    def build() -> SchemaExtension:
        return _ChargeTheRequester(examiner)

    return build


class _ChargeTheRequester(SchemaExtension):
    def __init__(self, examiner: DocumentExaminer) -> None:
        super().__init__()
        self.examiner = examiner
        self.requested = 0
        self.taken = 0
        self.throttle: Throttle | None = None

    def _budget(self) -> CostBudget | None:
        return getattr(self.execution_context.context, "budget", None)

    def _requested(self) -> int:
        context = self.execution_context
        if context.graphql_document is None or context.query is None:
            return 0
        verdict = self.examiner.verdict(context.query, context.graphql_document)
        return verdict.costs.get(context.operation_name, 0)

    async def on_execute(self) -> AsyncIterator[None]:
        budget = self._budget()
        if budget is not None:
            self.requested = requested = max(REFUSED_PRICE, self._requested())
            if requested > budget.capacity:
                message = (f"query cost {requested} exceeds the {budget.capacity} points "
                           "a requester's bucket holds")
                raise GraphQLError(message, original_error=OverBudget(message))
            self.throttle = await budget.take(requested)
            if not self.throttle.allowed:
                raise GraphQLError("rate limited",
                                   original_error=RateLimited(requested, self.throttle))
            self.taken = requested
        yield

    async def get_results(self) -> dict[str, Any]:
        budget = self._budget()
        if budget is None:
            return {}
        context = self.execution_context
        if self.taken:
            result = context.result
            data = getattr(result, "data", None)
            actual = max(REFUSED_PRICE, min(self.taken, actual_cost(data)))
            if actual < self.taken:
                self.throttle = await budget.give_back(self.taken - actual)
        elif self.throttle is None or self.throttle.allowed:
            # Refused before it ran (or refused as over budget).
            return await charge_refusal(budget, self.requested or self._requested())
        else:
            actual = 0  # RATE_LIMITED: nothing ran, nothing is charged
        assert self.throttle is not None
        return cost_report(self.requested, actual, self.throttle)


async def charge_refusal(budget: CostBudget, requested: int) -> dict[str, Any]:
    """A request refused before it ran pays REFUSED_PRICE, the price of being heard."""
    throttle = await budget.take(REFUSED_PRICE)
    return cost_report(requested, REFUSED_PRICE if throttle.allowed else 0, throttle)


def cost_report(requested: int, actual: int, throttle: Throttle) -> dict[str, Any]:
    """`extensions.cost` of an answer."""
    return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                     "throttleStatus": throttle.status()}}
