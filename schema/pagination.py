"""Relay connections with opaque cursors (keyset on the opaque public id)."""

from __future__ import annotations

import base64
import binascii

import strawberry

from schema.errors import BadUserInput


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(f"c1:{key}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, field: str = "after") -> str | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadUserInput(field, "not a cursor from this API") from None
    if not raw.startswith("c1:") or len(raw) > 64:
        raise BadUserInput(field, "not a cursor from this API")
    return raw[3:]


def page_size(first: int, maximum: int, field: str = "first") -> int:
    if first < 0:
        raise BadUserInput(field, "must not be negative")
    if first > maximum:
        raise BadUserInput(field, f"must be {maximum} or less")
    return first
