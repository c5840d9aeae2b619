"""The app factory: everything a request needs is built here, per app, never at import.

`create_app(settings)` can be called twice in one process (the tests do) and each app
has its own database, policy store, keys and schema.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import BearerAuthMiddleware, TokenVerifier
from api.context import AgencyDirectory
from api.graphql import graphql_endpoint
from api.issuer import Issuer, SigningKeys, issuer_routes
from api.settings import Settings
from api.state import AppState
from db.audit import AuditChain
from db.engine import Database
from db.migrate import is_current
from policies.store import PolicyStore
from schema import Limits, build_schema

log = logging.getLogger("registry.app")


# Loggers that write bound parameters or rows (identity numbers, names): aiosqlite at DEBUG,
# SQLAlchemy's engine at INFO (statements with parameters) and DEBUG (rows). Capped here, so
# a root logger at DEBUG never turns them on; the registry logs ids and codes instead.
DRIVER_LOG_FLOORS = {"aiosqlite": logging.INFO, "sqlalchemy.engine": logging.WARNING,
                     "sqlalchemy.pool": logging.WARNING, "psycopg": logging.INFO}


def cap_driver_loggers() -> None:
    for name, floor in DRIVER_LOG_FLOORS.items():
        logger = logging.getLogger(name)
        if logger.level < floor:  # NOTSET (0) too: inheriting the root's level is the hole
            logger.setLevel(floor)


def build_state(settings: Settings, *, issuer: Issuer | None = None,
                verifier: TokenVerifier | None = None) -> AppState:
    """What every operation needs, without serving: `create_app` adds the token issuer and
    verifier; the bulk importer (api/importer.py) builds its principal itself, so it verifies
    no token, signs none, and never reads or creates the signing key."""
    cap_driver_loggers()  # the API and the bulk importer alike
    database = Database(settings.database_url, pool_size=settings.db_pool_size)
    return AppState(
        settings=settings,
        database=database,
        schema=build_schema(Limits(max_tokens=settings.max_query_tokens,
                                   max_depth=settings.max_query_depth,
                                   max_aliases=settings.max_aliases,
                                   max_directives=settings.max_directives,
                                   max_cost=settings.max_query_cost),
                            production=settings.production),
        policies=PolicyStore(database, poll_seconds=settings.policy_poll_seconds),
        audit=AuditChain(database),
        issuer=issuer,
        verifier=verifier,
        agencies=AgencyDirectory(ttl=settings.policy_poll_seconds),
    )


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    issuer = None
    if settings.jwks_url is None:
        issuer = Issuer(settings, SigningKeys.load_or_create(settings.signing_key_file))
    verifier = TokenVerifier(settings, issuer)
    state = build_state(settings, issuer=issuer, verifier=verifier)
    database = state.database
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await database.dispose()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            async with database.session() as session:
                await session.execute(text("SELECT 1"))
            current = await asyncio.to_thread(is_current, settings.database_url)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            log.warning("readiness check failed: %s", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "database": "unreachable"},
                                status_code=503)
        if not current:
            return JSONResponse({"status": "unavailable", "migrations": "pending"},
                                status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
    ]
    if issuer is not None:
        routes += issuer_routes(issuer, database)
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.registry = state
    # Outermost first: request id and metrics see every response, 401s included.
    app.add_middleware(BearerAuthMiddleware, verifier=verifier)
    app.add_middleware(RequestIdMiddleware, metrics=metrics)
    return app


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("registry_http_requests_total", "HTTP requests",
                                ["path", "status"], registry=self.registry)
        self.latency = Histogram("registry_http_request_seconds", "HTTP request latency",
                                 ["path"], registry=self.registry)


KNOWN_PATHS = frozenset({"/graphql", "/healthz", "/readyz", "/metrics", "/oauth/token",
                         "/.well-known/jwks.json", "/.well-known/oauth-authorization-server"})


class RequestIdMiddleware:
    """Every response carries an `X-Request-ID`; the log and INTERNAL errors name it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        path = scope["path"] if scope["path"] in KNOWN_PATHS else "other"
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.requests.labels(path, str(status)).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - started)
