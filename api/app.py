"""The app factory: everything a request needs is built here, per app, never at import.

`create_app(settings)` can be called twice in one process (the tests do) and each app
has its own database, policy store, keys and schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import BearerAuthMiddleware, Principal, TokenVerifier
from api.console import console_assets
from api.context import AgencyDirectory
from api.cors import RegistryCORS
from api.graphiql import graphiql_assets
from api.graphql import MAX_BODY_BYTES, graphql_endpoint
from api.issuer import Issuer, SigningKeys, issuer_routes
from api.metrics import Metrics
from api.observe import RequestObserver
from api.oidc import ProviderError
from api.ratelimit import buckets_for
from api.revocation import ClientDirectory, GrantDirectory
from api.settings import Settings
from api.state import AppState
from api.token_throttle import TokenThrottle
from api.transport import BodyLimit, ResponseHeaders
from db.audit import AuditChain, CheckpointWriter, GroupCommit
from db.audit_keys import AuditKeys
from db.engine import Database
from db.migrate import is_current
from policies.store import PolicyStore
from schema import shared_schema
from schema.limits import Limits

log = logging.getLogger("registry.app")

_frozen = False


def _freeze_start_up() -> None:
    """What start-up built (the schema, the policy set, the modules) lives as long as the
    process: out of the collector's sight, a full collection no longer walks it, and requests
    no longer stall behind one (the tail of DESIGN §3: p99 <= 2 x p50). Once per process (a
    test process starts many apps)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()

# Bodies (CONTRACT.md §2): a GraphQL document with its variables, a token request's form.
BODY_LIMITS = {"/graphql": MAX_BODY_BYTES, "/oauth/token": 16 * 1024,
               "/oauth/authorize": 16 * 1024}
DEFAULT_BODY_LIMIT = 16 * 1024
METRICS_SCOPE = "metrics:read"


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
        schema=shared_schema(Limits(max_tokens=settings.max_query_tokens,
                                   max_depth=settings.max_query_depth,
                                   max_aliases=settings.max_aliases,
                                   max_directives=settings.max_directives,
                                   max_cost=settings.max_query_cost),
                            production=settings.production),
        policies=PolicyStore(database, poll_seconds=settings.policy_poll_seconds),
        audit=AuditChain(database, AuditKeys.load_or_create(settings.audit_key_path)),
        issuer=issuer,
        verifier=verifier,
        agencies=AgencyDirectory(ttl=settings.policy_poll_seconds),
    )


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    issuer = None
    # An external provider (REGISTRY_JWKS_URL or REGISTRY_OIDC_ISSUER) replaces the embedded
    # issuer: no /oauth/token, no JWKS of ours, and only the provider's tokens are accepted.
    if settings.jwks_url is None and settings.oidc_issuer is None:
        issuer = Issuer(settings, SigningKeys.load_or_create(settings.signing_key_file))
    verifier = TokenVerifier(settings, issuer)
    state = build_state(settings, issuer=issuer, verifier=verifier)
    state.buckets = buckets_for(settings.redis_url, settings.redis_prefix,
                                settings.rate_bucket, settings.rate_restore)
    database = state.database
    state.group_commit = GroupCommit(database, state.audit)
    if issuer is not None:
        state.throttle = TokenThrottle(settings)
        verifier.clients = ClientDirectory(database, settings.client_poll_seconds)
        verifier.grants = GrantDirectory(database, settings.client_poll_seconds,
                                         settings.token_max_ttl)
    metrics = Metrics()

    checkpoints = CheckpointWriter(database, state.audit.keys, settings.audit_witness_path,
                                   settings.audit_checkpoint_seconds)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # An external OpenID provider's discovery and keys, or no start at all (fail fast:
        # a mistyped or unreachable provider is named now, not at the first request).
        try:
            await verifier.start()
        except ProviderError as error:
            log.error("start-up stopped: %s", error)
            raise
        # DESIGN.md §1.5: the chain's head goes to the witness as the service starts, at least
        # every minute while it runs, and once more as it stops.
        writer = asyncio.create_task(checkpoints.run())
        _freeze_start_up()
        try:
            yield
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            if state.group_commit is not None:
                await state.group_commit.close()  # the last audited reads, then their head
            await checkpoints.write()
            await state.close()

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
        if settings.production:
            refused = metrics_refusal(request.state.principal)
            if refused is not None:
                return refused
        return Response(await metrics.exposition(state.policies),
                        media_type=CONTENT_TYPE_LATEST)

    routes: list[BaseRoute] = [
        Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
    ]
    if issuer is not None:
        routes += issuer_routes(issuer, database, state.throttle)
        # The policy console signs in with the embedded issuer: in production too.
        routes.append(console_assets())
    if not settings.production:
        routes.append(graphiql_assets())
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.registry = state
    # Added innermost first: the response headers (request id, no-store, nosniff) and the
    # metrics see every response, 413s, 401s and CORS preflights included; a preflight is
    # answered before authentication (a browser sends it without the token), and the 401s
    # and 413s carry CORS headers for the allowed origins; an oversized body is refused
    # before authentication is even looked at.
    protected = ("/graphql", "/metrics") if settings.production else ("/graphql",)
    app.add_middleware(DirectGraphQL, endpoint=graphql_endpoint)
    app.add_middleware(BearerAuthMiddleware, verifier=verifier, protected_prefixes=protected)
    app.add_middleware(BodyLimit, limits=BODY_LIMITS, default=DEFAULT_BODY_LIMIT)
    if settings.cors_origin_list:
        app.add_middleware(RegistryCORS, origins=settings.cors_origin_list)
    app.add_middleware(ResponseHeaders, observer=RequestObserver(metrics),
                       known_paths=KNOWN_PATHS)
    return app


class DirectGraphQL:
    """`POST /graphql`, the request the API exists for, straight to its endpoint (issue 13:
    the fixed cost of `{ me }`): it skips the router's matching and starlette's per-request
    exception wrapper, which only handles HTTPException (the endpoint raises none; anything
    else reaches ServerErrorMiddleware either way). Every other request, `GET /graphql`
    included, goes through the router as before."""

    def __init__(self, app: ASGIApp, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql" and scope["method"] == "POST":
            response = await self.endpoint(Request(scope, receive, send))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def metrics_refusal(principal: Principal) -> Response | None:
    """In production /metrics needs a bearer token with the `metrics:read` scope (RFC 6750
    §3.1: a token without it is 403 insufficient_scope)."""
    if not principal.authenticated:
        return JSONResponse({"errors": [{"message": "authentication required",
                                         "extensions": {"code": "UNAUTHENTICATED"}}]},
                            status_code=401,
                            headers={"WWW-Authenticate": 'Bearer realm="registry"'})
    if METRICS_SCOPE not in principal.scopes:
        return JSONResponse({"errors": [{"message": f"the token lacks the {METRICS_SCOPE} scope",
                                         "extensions": {"code": "FORBIDDEN"}}]},
                            status_code=403, headers={"WWW-Authenticate": (
                                f'Bearer error="insufficient_scope", scope="{METRICS_SCOPE}"')})
    return None


KNOWN_PATHS = frozenset({"/graphql", "/healthz", "/readyz", "/metrics", "/oauth/token",
                         "/oauth/authorize", "/.well-known/jwks.json",
                         "/.well-known/oauth-authorization-server",
                         "/.well-known/openid-configuration"})
