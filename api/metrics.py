"""Prometheus metrics (README "Metrics"), correct across `registry serve --workers N`.

Each app keeps its own registry, so that two apps in one process (the tests) count apart.
Where `PROMETHEUS_MULTIPROC_DIR` is set (`registry serve --workers N` sets it to a fresh
directory per start, see `multiprocess_dir`), prometheus-client writes every value to a
file of its process there, and /metrics adds up the files of every worker.

Labels stay few: paths are the known routes or `other`, operation names the first
`OPERATION_NAMES` named operations a process meets (`anonymous` for an unnamed one, `other`
past the cap or for a name that could carry an identity number).

On the request path a metric is one dictionary look-up of a label set's child and its
`inc`/`observe`; the policy set's version is read when /metrics is scraped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from policies.store import PolicyStore

log = logging.getLogger("registry.metrics")

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
OPERATION_NAMES = 50
# 15 digits or more: an identity number (GB 11643, 18 characters; the older 15 digits).
ID_LIKE = re.compile(r"\d{15}")
MAX_NAME = 64


def safe_name(name: str | None) -> str | None:
    """An operation's name as the document defines it, unless it could carry an identity
    number or is too long to be a name: then `other`."""
    if name is None:
        return None
    return "other" if len(name) > MAX_NAME or ID_LIKE.search(name) else name


class Metrics:
    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROC_VARIABLE))
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("registry_http_requests_total", "HTTP requests",
                                ["path", "status"], registry=r)
        self.latency = Histogram("registry_http_request_seconds", "HTTP request latency",
                                 ["path"], registry=r)
        self.operations = Counter(
            "registry_graphql_operations_total",
            "GraphQL operations by name and outcome (ok, error, refused, rate_limited)",
            ["operation", "outcome"], registry=r)
        self.operation_latency = Histogram(
            "registry_graphql_operation_seconds", "GraphQL operation latency, by name",
            ["operation"], registry=r)
        self.decisions = Counter("registry_decisions_total",
                                 "Policy decisions made, by outcome (permit, deny)",
                                 ["outcome"], registry=r)
        self.audit_events = Counter("registry_audit_events_total",
                                    "Audit events written to the chain", registry=r)
        self.rate_limited = Counter(
            "registry_rate_limited_total",
            "GraphQL operations refused with RATE_LIMITED (the requester's bucket was empty)",
            registry=r)
        # Versions only grow: across workers the largest is the newest any of them decides by.
        self.policy_version = Gauge("registry_policy_set_version",
                                    "Version of the policy set this service decides with",
                                    registry=r, multiprocess_mode="max")
        self._permit = self.decisions.labels("permit")
        self._deny = self.decisions.labels("deny")
        self._http: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._operation: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._names: set[str] = set()

    def observe(self, path: str, status: int, seconds: float) -> None:
        children = self._http.get((path, status))
        if children is None:
            children = self._http[(path, status)] = (
                self.requests.labels(path, str(status)), self.latency.labels(path))
        children[0].inc()
        children[1].observe(seconds)

    def observe_operation(self, name: str | None, outcome: str, seconds: float, *,
                          permits: int, denials: int, audit_events: int) -> None:
        label = self._label(name)
        children = self._operation.get((label, outcome))
        if children is None:
            children = self._operation[(label, outcome)] = (
                self.operations.labels(label, outcome), self.operation_latency.labels(label))
        children[0].inc()
        children[1].observe(seconds)
        if permits:
            self._permit.inc(permits)
        if denials:
            self._deny.inc(denials)
        if audit_events:
            self.audit_events.inc(audit_events)
        if outcome == "rate_limited":
            self.rate_limited.inc()

    def _label(self, name: str | None) -> str:
        if name is None:
            return "anonymous"
        if name in self._names:
            return name
        safe = safe_name(name)
        if safe != name or len(self._names) >= OPERATION_NAMES:
            return "other"
        self._names.add(name)
        return name

    async def exposition(self, policies: PolicyStore) -> bytes:
        """The text format, every worker's values added up in multiprocess mode."""
        try:
            self.policy_version.set((await policies.current()).version)
        except Exception:  # noqa: BLE001 - the database is down: the other metrics still tell
            log.warning("the policy set version could not be read for /metrics")
        if not self.multiprocess:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return generate_latest(merged)


@contextlib.contextmanager
def multiprocess_dir(workers: int) -> Iterator[str | None]:
    """Where the workers of one `registry serve` keep their metrics: a fresh directory per
    start, removed at the end. A `PROMETHEUS_MULTIPROC_DIR` set by the caller is used
    instead, emptied of the files of earlier runs first (prometheus-client's instructions)
    and left in place. One worker needs none."""
    given = os.environ.get(MULTIPROC_VARIABLE)
    if given:
        os.makedirs(given, exist_ok=True)
        for entry in os.scandir(given):
            if entry.name.endswith(".db") and entry.is_file():
                os.unlink(entry.path)
        yield given
        return
    if workers <= 1:
        yield None
        return
    path = tempfile.mkdtemp(prefix="registry-metrics-")
    os.environ[MULTIPROC_VARIABLE] = path
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROC_VARIABLE, None)
        shutil.rmtree(path, ignore_errors=True)
