"""Opaque external ids: random, prefixed by kind, never a row number."""

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(12)}"
