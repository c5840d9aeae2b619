"""POST /graphql: transport rules, one transaction per operation, the audit events in it.

Transport (CONTRACT.md §2): POST with `Content-Type: application/json` only (415
otherwise, nothing executed); no queries over GET (GET serves GraphiQL in development);
no batched arrays. The answer's media type and status follow GraphQL over HTTP
(api/media.py): `application/graphql-response+json` with 4xx for a request that never
reached execution where the client accepts it, `application/json` with 200 otherwise;
such an answer has no `data` key in either. The operation's changes and its audit events
commit together; an operation that changed nothing (a read), or whose changes rolled back
because it failed, has its audit events (denials included) committed with those of other
such operations (db/audit.GroupCommit), and is answered once they are durable.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, cast

from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from strawberry.types import ExecutionResult

from api.auth import ANONYMOUS, Principal
from api.context import context_for
from api.graphiql import graphiql_page
from api.media import APPLICATION_JSON, content_type_header, response_media_type, status_for
from api.observe import note_operation
from api.ratelimit import Charge, RateLimited
from api.state import AppState
from db.audit import AuditRecord
from db.settled import SettledSession
from schema.context import Context
from schema.errors import BadUserInput, format_error

log = logging.getLogger("registry.graphql")

MAX_BODY_BYTES = 256 * 1024


async def graphql_endpoint(request: Request) -> Response:
    state: AppState = request.app.state.registry
    if request.method == "GET":
        if request.query_params:
            return _problem(405, "queries over GET are not accepted; POST JSON instead",
                            headers={"Allow": "POST"})
        if state.settings.production:
            return _problem(405, "GraphiQL is not served in production", headers={"Allow": "POST"})
        return graphiql_page()
    media_type = response_media_type(request.headers.get("accept"))

    def problem(status: int, message: str) -> Response:
        return _problem(status, message, media_type=media_type)

    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return problem(415, "Content-Type must be application/json")
    try:
        body = await request.body()  # at most MAX_BODY_BYTES: api/transport.BodyLimit
    except ClientDisconnect:
        # The client left before its request arrived: nothing ran, nobody reads an answer
        # (not an error of the server's: no traceback in the log).
        return Response(status_code=400)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return problem(400, "body is not valid JSON")
    if isinstance(payload, list):
        return problem(400, "batched operations are not accepted")
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return problem(400, "body must be a JSON object with a 'query' string")
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        return problem(400, "'variables' must be a JSON object")
    if payload.get("extensions") is not None and not isinstance(payload["extensions"], dict):
        return problem(400, "'extensions' must be a JSON object")
    operation_name = payload.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        return problem(400, "'operationName' must be a string")
    principal: Principal = getattr(request.state, "principal", ANONYMOUS)
    query: str = payload["query"]
    request_id: str = request.state.request_id
    charge = None if state.buckets is None else Charge(state.buckets, principal)
    refusal = None
    ctx: Context | None = None
    if charge is not None:
        refusal = await charge.before(state.schema.examiner.examine(query).price(operation_name)
                                      if query else None)
    if refusal is not None:
        response = _request_error(state, refusal, request_id)
    elif not query:
        # strawberry raises on an empty query: it is a request error like any other.
        response = _request_error(state, GraphQLError(
            "query: the query is empty",
            original_error=BadUserInput("query", "the query is empty")), request_id)
    else:
        response, ctx = await run_operation(state, principal, request_id, query,
                                            variables or {}, operation_name)
    if charge is not None:
        await charge.settle(response)
    headers = {"Vary": "Accept"}
    limited = refusal.original_error if refusal is not None else None
    if isinstance(limited, RateLimited):
        headers["Retry-After"] = str(limited.retry_after)
    note_operation(request.state, state, query, operation_name, response, ctx)
    status = status_for(media_type, response, rate_limited=isinstance(limited, RateLimited))
    return JSONResponse(response, status_code=status, headers=headers,
                        media_type=content_type_header(media_type))


def _request_error(state: AppState, error: GraphQLError, request_id: str) -> dict[str, Any]:
    """The answer to a request refused before anything ran: errors, and no `data` key."""
    return {"errors": [format_error(error, request_id=request_id,
                                    production=state.settings.production)]}


async def run_operation(state: AppState, principal: Principal, request_id: str, query: str,
                        variables: dict[str, Any], operation_name: str | None
                        ) -> tuple[dict[str, Any], Context]:
    """One operation in one transaction with its audit events: the HTTP endpoint and the
    bulk importer (api/importer.py) both come through here, so both validate, decide,
    audit and commit alike. Returns the response body and the operation's context."""
    batched = False
    # Opened by the operation's first statement, if it has one (db/settled.py).
    lazy = SettledSession(state.database.sessions)
    try:
        ctx = await context_for(state, principal, request_id, cast(AsyncSession, lazy))
        try:
            result = await state.schema.execute(query, variable_values=variables,
                                                context_value=ctx, operation_name=operation_name)
            failed = bool(result.errors)
            if failed:
                await _roll_back(state, lazy.opened)
            if state.group_commit is not None and (failed or not ctx.wrote):
                # Nothing of the operation's to commit with: its events go with others'
                # (db/audit.py). The read's transaction ends here.
                session = lazy.opened
                if not failed and session is not None and session.in_transaction():
                    await session.commit()  # a read that touched no table has none to end
                batched = True
            else:
                await _commit_with_audit(state, lazy.open(), ctx, operation_name, result.errors)
        except BaseException:
            await _roll_back(state, lazy.opened)
            raise
    finally:
        # A session never opened, or that never began a transaction nor holds a record
        # (`{ me }`, a refused operation), has nothing to release: closing it would cost a
        # tenth of such a request.
        session = lazy.opened
        if session is not None and (session.in_transaction()
                                    or session.sync_session.identity_map):
            await session.close()
    if batched:
        # After the session is closed, so that its connection serves others meanwhile; the
        # answer waits for its events to be durable, and fails if they are not.
        assert state.group_commit is not None
        records = audit_records(ctx, operation_name, result.errors)
        await state.group_commit.write(records)
        ctx.audit_events = len(records)
    if ctx.policy_changed and not failed:
        # After the session is closed: the reload takes a connection of its own.
        await _reload_policies(state, request_id)
    return _response(state, result, ctx, request_id), ctx


async def run_nested_operation(state: AppState, session: AsyncSession, principal: Principal,
                               request_id: str, query: str, variables: dict[str, Any],
                               operation_name: str | None,
                               prepare: Callable[[Context], object] = lambda ctx: None,
                               *, savepoint: bool = True
                               ) -> tuple[dict[str, Any], Context, list[AuditRecord]]:
    """`run_operation` inside the caller's open transaction, for the bulk importer's batches
    (api/importer.py): the same context, execution, audit records and answer, but the
    operation runs in a SAVEPOINT of its own that rolls back alone when it fails (as
    run_operation rolls back its transaction), and its audit records are returned, not
    appended: the caller appends the records of every operation of its transaction, in
    order, then commits. Until that commit nothing of the operation is durable, and the
    answer must not be reported as done. `prepare` sees the context before the operation
    runs (the importer hands on the agencies the transaction's earlier operations read).
    Without `savepoint` (a line whose writes the importer stages, schema/batch.py: it writes
    nothing while it runs) the caller undertakes to undo a failed operation's changes."""
    ctx = await context_for(state, principal, request_id, session)
    prepare(ctx)
    nested = await session.begin_nested() if savepoint else None
    try:
        result = await state.schema.execute(query, variable_values=variables,
                                            context_value=ctx, operation_name=operation_name)
    except BaseException:
        if nested is not None and nested.is_active:
            await nested.rollback()
        raise
    if nested is not None:
        if result.errors:
            await nested.rollback()
        else:
            await nested.commit()
    return (_response(state, result, ctx, request_id), ctx,
            audit_records(ctx, operation_name, result.errors))


async def _roll_back(state: AppState, session: AsyncSession | None) -> None:
    if session is not None:
        await session.rollback()
        state.audit.release(session)


def _response(state: AppState, result: ExecutionResult, ctx: Context,
              request_id: str) -> dict[str, Any]:
    response: dict[str, Any] = {}
    if result.data is not None or not _never_executed(result.errors):
        response["data"] = result.data
    if result.errors:
        response["errors"] = [format_error(e, request_id=request_id,
                                           production=state.settings.production)
                              for e in result.errors]
    if result.extensions:
        response["extensions"] = result.extensions
    if ctx.response_extensions and not result.errors:
        response.setdefault("extensions", {}).update(ctx.response_extensions)
    return response


def _never_executed(errors: list[GraphQLError] | None) -> bool:
    """A request error (it did not parse, validate, fit the limits or the requester's
    bucket, or its variables did not coerce): no field ran, so no error has a path, and
    the answer has no `data` key at all (GraphQL spec, "Response")."""
    return bool(errors) and all(not error.path for error in errors or ())


async def _commit_with_audit(state: AppState, session: AsyncSession, ctx: Context,
                             operation_name: str | None,
                             errors: list[GraphQLError] | None) -> None:
    records = audit_records(ctx, operation_name, errors)
    try:
        if records:
            await state.audit.append(session, records)
        await session.commit()
        ctx.audit_events = len(records)
    finally:
        state.audit.release(session)


async def _reload_policies(state: AppState, request_id: str) -> None:
    """A committed policy change is in force here for the next request; other processes
    poll the set's version (DESIGN.md §2). Should the reload fail, the change stands and
    the next poll loads it: the answer to the change is not turned into an error."""
    try:
        await state.policies.refresh()
    except Exception:
        log.exception("policy reload after a change failed request_id=%s", request_id)


def audit_records(ctx: Context, operation_name: str | None,
                  errors: list[GraphQLError] | None) -> list[AuditRecord]:
    requester = ctx.requester
    codes = sorted({str((e.original_error and getattr(e.original_error, "code", None))
                        or "VALIDATION") for e in errors or []})
    records = []
    for entry in ctx.authz.audit_entries():
        detail: dict[str, Any] = {}
        detail.update(entry.detail)
        if entry.sealed_ids:
            detail["sealed_disclosed"] = entry.sealed_ids
        if codes:
            detail["errors"] = codes
        records.append(AuditRecord(
            action=entry.action, outcome=entry.outcome, sub=requester.sub,
            role=requester.role, agency=requester.agency_code or "",
            client_id=requester.client_id or "", request_id=ctx.request_id,
            operation=operation_name or "", resource_type=entry.resource_type,
            resource_ids=entry.resource_ids[:500],
            purpose=entry.purpose, inquiry_id=entry.inquiry_id, case_number=entry.case_number,
            policy_uid=entry.policy_uid, policy_version=entry.policy_version, detail=detail))
    return records


def _problem(status: int, message: str, *, media_type: str = APPLICATION_JSON,
             headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]},
                        status_code=status, headers=headers,
                        media_type=content_type_header(media_type))
