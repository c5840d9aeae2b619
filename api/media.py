"""GraphQL over HTTP's two response media types (CONTRACT.md §2).

A client that accepts `application/graphql-response+json` gets it, and with it HTTP status
codes that say what happened: a request that never reached execution (it did not parse,
validate, fit a limit, or its variables did not coerce) is 400, one refused by the rate
limit 429. `application/json`, the default (no `Accept`, `*/*`, or neither type named),
keeps the legacy rule of the GraphQL over HTTP draft: 200 for every GraphQL response,
because a client written before the new media type cannot tell our 4xx from a proxy's.
"""

from __future__ import annotations

from typing import Any

APPLICATION_JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# Accept ranges that a JSON answer satisfies.
_JSON_RANGES = frozenset({APPLICATION_JSON, "application/*", "*/*"})


def response_media_type(accept: str | None) -> str:
    """The media type to answer with: `application/graphql-response+json` where the client
    accepts it at least as much as `application/json` (RFC 9110 §12.5.1 quality values),
    else `application/json`."""
    graphql_q = json_q = 0.0
    for item in (accept or "").split(","):
        media_range, *parameters = (part.strip() for part in item.split(";"))
        quality = _quality(parameters)
        media_range = media_range.lower()
        if media_range == GRAPHQL_RESPONSE_JSON:
            graphql_q = max(graphql_q, quality)
        elif media_range in _JSON_RANGES:
            json_q = max(json_q, quality)
    return GRAPHQL_RESPONSE_JSON if graphql_q > 0 and graphql_q >= json_q else APPLICATION_JSON


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return 0.0
            return quality if 0.0 <= quality <= 1.0 else 0.0
    return 1.0


def content_type_header(media_type: str) -> str:
    # RFC 8259 JSON is UTF-8 and takes no charset; the new media type says it outright.
    return f"{media_type}; charset=utf-8" if media_type == GRAPHQL_RESPONSE_JSON else media_type


def status_for(media_type: str, response: dict[str, Any], *, rate_limited: bool) -> int:
    """200 for every `application/json` answer. For `application/graphql-response+json`:
    200 where the operation ran (a `data` key, even `null`), 429 where the rate limit
    refused it, 400 for any other request that never reached execution."""
    if media_type != GRAPHQL_RESPONSE_JSON or "data" in response:
        return 200
    return 429 if rate_limited else 400
