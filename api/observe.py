"""One log line and the metrics of every request, written as its response ends
(api/transport.ResponseHeaders calls `RequestObserver.observe`).

The line holds ids, codes and numbers only, each from a bounded or validated source: the
request id (1 to 64 of `[A-Za-z0-9._-]`, api/transport.py), the method and path (known ones,
else `other`), the status, the duration, the requester's `sub` and role from a verified
token, the name of the operation as the document defines it (api/metrics.safe_name), its
outcome and cost. Never the query, its variables, a header, an answer or an error
message: they can hold identity numbers, names, a token or a record's content.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.datastructures import State
from starlette.types import Scope

from api.auth import ANONYMOUS, Principal
from api.metrics import ID_LIKE, Metrics, safe_name

if TYPE_CHECKING:
    from api.state import AppState
    from schema.context import Context

REQUEST_LOGGER = "registry.request"
METHODS = frozenset({"GET", "POST", "OPTIONS", "HEAD", "PUT", "PATCH", "DELETE"})


@dataclass(slots=True)
class Operation:
    """What /graphql learnt of the request's operation (`request.state.operation`)."""

    name: str | None
    outcome: str  # ok, error (it ran, with errors), refused (it never ran), rate_limited
    cost: int | None
    permits: int = 0
    denials: int = 0
    audit_events: int = 0


def note_operation(request_state: State, state: AppState, query: str,
                   operation_name: str | None, response: dict[str, Any],
                   ctx: Context | None) -> None:
    """Keeps what the request's log line and metrics need of the operation just answered."""
    name = None
    examined = state.schema.examiner.examine(query) if query else None
    if examined is not None and examined.verdict is not None:
        costs = examined.verdict.costs
        if operation_name is not None:
            name = operation_name if operation_name in costs else None
        elif len(costs) == 1:
            name = next(iter(costs))
    errors = response.get("errors")
    if "data" not in response:
        limited = any(e.get("extensions", {}).get("code") == "RATE_LIMITED" for e in errors or ())
        outcome = "rate_limited" if limited else "refused"
    else:
        outcome = "error" if errors else "ok"
    cost = response.get("extensions", {}).get("cost", {}).get("actualQueryCost")
    operation = Operation(name, outcome, cost)
    if ctx is not None:
        operation.permits = ctx.authz.permits
        operation.denials = ctx.authz.denials
        operation.audit_events = ctx.audit_events
    request_state.operation = operation


class RequestObserver:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.log = logging.getLogger(REQUEST_LOGGER)
        # Every request's record is a copy of this one with its time and fields: what
        # LogRecord's constructor and Logger.findCaller work out (the caller's frame, thread,
        # process) is the same for every request, and is not worked out again each time.
        self._template = logging.LogRecord(REQUEST_LOGGER, logging.INFO, __file__, 0,
                                           "request", None, None, "observe").__dict__

    def observe(self, scope: Scope, path: str, status: int, seconds: float) -> None:
        self.metrics.observe(path, status, seconds)
        state = scope.get("state") or {}
        operation: Operation | None = state.get("operation")
        if operation is not None:
            self.metrics.observe_operation(
                operation.name, operation.outcome, seconds, permits=operation.permits,
                denials=operation.denials, audit_events=operation.audit_events)
        if not self.log.isEnabledFor(logging.INFO):
            return
        principal: Principal = state.get("principal", ANONYMOUS)
        sub = principal.sub if principal.authenticated else None
        method = scope["method"]
        record = logging.LogRecord.__new__(logging.LogRecord)
        fields = record.__dict__
        fields.update(self._template)
        fields["created"] = now = time.time()
        fields["msecs"] = int(now * 1000) % 1000
        fields["relativeCreated"] = (self._template["relativeCreated"]
                                     + (now - self._template["created"]) * 1000)
        fields.update({
            "request_id": state.get("request_id"),
            "method": method if method in METHODS else "other",
            "path": path,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "sub": "redacted" if sub is not None and ID_LIKE.search(sub) else sub,
            "role": principal.role if principal.authenticated else None,
            "operation": safe_name(operation.name) if operation is not None else None,
            "outcome": operation.outcome if operation is not None else None,
            "cost": operation.cost if operation is not None else None,
        })
        self.log.handle(record)
