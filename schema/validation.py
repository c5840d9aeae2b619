"""Field-by-field input checks: the first bad field is named in `BAD_USER_INPUT`."""

from __future__ import annotations

from datetime import date

from policies.identity import is_valid_id_number, is_valid_region
from schema.errors import BadUserInput

# Penalty kinds that carry a term in months, and those that must not.
TERM_REQUIRED = frozenset({"PUBLIC_SURVEILLANCE", "CRIMINAL_DETENTION", "FIXED_TERM_IMPRISONMENT"})
MAX_TERM_MONTHS = {"PUBLIC_SURVEILLANCE": 36, "CRIMINAL_DETENTION": 12,
                   "FIXED_TERM_IMPRISONMENT": 300}


def text(field: str, value: str | None, *, max_length: int = 200, required: bool = True) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise BadUserInput(field, "must not be empty")
    if len(cleaned) > max_length:
        raise BadUserInput(field, f"must be at most {max_length} characters")
    if any(ord(ch) < 32 for ch in cleaned):
        raise BadUserInput(field, "must not contain control characters")
    return cleaned


def id_number(field: str, value: str) -> str:
    cleaned = value.strip().upper()
    if not is_valid_id_number(cleaned):
        raise BadUserInput(field, "is not a valid 18-character identity number (check digit)")
    return cleaned


def region(field: str, value: str) -> str:
    if not is_valid_region(value):
        raise BadUserInput(field, "is not a 6-digit administrative division code")
    return value


def not_after(field: str, value: date, limit: date, what: str) -> None:
    if value > limit:
        raise BadUserInput(field, f"must not be after {what}")


def penalty_term(prefix: str, kind: str, term_months: int | None,
                 probation_months: int | None) -> None:
    if kind in TERM_REQUIRED:
        if term_months is None:
            raise BadUserInput(f"{prefix}.termMonths", f"is required for {kind}")
        if not 1 <= term_months <= MAX_TERM_MONTHS[kind]:
            raise BadUserInput(f"{prefix}.termMonths",
                               f"must be between 1 and {MAX_TERM_MONTHS[kind]} for {kind}")
    elif term_months is not None:
        raise BadUserInput(f"{prefix}.termMonths", f"must be absent for {kind}")
    if probation_months is not None:
        if kind not in ("CRIMINAL_DETENTION", "FIXED_TERM_IMPRISONMENT"):
            raise BadUserInput(f"{prefix}.probationMonths", f"is not possible for {kind}")
        if not 1 <= probation_months <= 60:
            raise BadUserInput(f"{prefix}.probationMonths", "must be between 1 and 60")


def fine_amount(field: str, value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = value.strip()
    whole, _, cents = cleaned.partition(".")
    if not (whole.isdigit() and len(whole) <= 12 and (cents == "" or (cents.isdigit()
                                                                     and len(cents) <= 2))):
        raise BadUserInput(field, "must be an amount like 5000 or 5000.50")
    return cleaned
