"""Settings: one class, built from the environment (or CLI flags) by the app factory.

A bad setting stops start-up with a `SettingsError` naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlsplit

ENVIRONMENTS = ("development", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("json", "text")
# Revocation of a client's tokens takes effect within 60 s (CONTRACT.md §1): the client table
# is reloaded at least this often, which leaves room for a slow reload.
MAX_CLIENT_POLL_SECONDS = 30.0


class SettingsError(ValueError):
    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/registry.db"
    env: str = "development"
    issuer: str = "http://127.0.0.1:8000"
    audience: str = "criminal-record-registry"
    jwks_url: str | None = None
    # An external OpenID provider (api/oidc.py, README "An external OpenID provider"): its
    # issuer URL, discovered at start-up; the embedded issuer is then off. Not with jwks_url.
    oidc_issuer: str | None = None
    # Where the provider puts the registry's claims (a name or a dotted path), how its role
    # values translate (`provider_value:registry_role,...`), and whether its tokens may be
    # typed `JWT` (or untyped) instead of `at+jwt`. Only with oidc_issuer.
    claim_role: str = "role"
    claim_agency: str = "agency"
    claim_id_number: str = "id_number"
    claim_client_id: str = "client_id"
    role_map: str | None = None
    oidc_accept_jwt_typ: bool = False
    signing_key_file: str = "var/signing-key.pem"
    # Public keys of audit checkpoints (one JWK per kid), kept across signing-key changes.
    audit_keyring_dir: str = "var/audit-keys"
    # The key the audit chain is sealed with, and the witness its checkpoints go to
    # (CONTRACT.md §1): both outside the database. Empty: `audit-key` and
    # `audit-witness.jsonl` beside the signing key file (var/ by default).
    audit_key_file: str = ""
    audit_witness: str = ""
    # Seconds between the running service's witness checkpoints (DESIGN.md §1.5: at most 60).
    audit_checkpoint_seconds: float = 60.0
    token_ttl_seconds: int = 900
    # The longest token lifetime (exp - iat) accepted and issued (CONTRACT.md §3): 8 hours.
    token_max_ttl: int = 28800
    # Seconds between reloads of the client table by the resource server, so that a client
    # disabled (or rotated) in another process loses its tokens within this interval.
    client_poll_seconds: float = 5.0
    # Query limits (CONTRACT.md §2).
    max_query_tokens: int = 2000
    max_query_depth: int = 10
    max_aliases: int = 15
    max_directives: int = 50
    max_query_cost: int = 5000
    max_page_size: int = 100
    # Seconds between polls of the policy table for edits made by other processes.
    policy_poll_seconds: float = 1.0
    # Distinct security admins a policy change needs (CONTRACT.md §1): the proposer and
    # `policy_approvers - 1` others. 0: the environment's default, 2 in production, 1 in
    # development (the demo walk-through applies a change at once).
    policy_approvers: int = 0
    # Benchmarks only: answers every decision with permit. Refused in production.
    authz_disabled: bool = False
    db_pool_size: int = 16
    # Shared state of rate limits and sign-in throttles (CONTRACT.md §2): every process that
    # names the same Redis shares one bucket per requester; without it, each process has its own.
    redis_url: str | None = None
    # Keys in Redis start with this prefix, so that several registries (or tests) can share one.
    redis_prefix: str = "registry"
    # Each requester's bucket of cost points (CONTRACT.md §2): what it holds, and what it
    # regains each second. An operation's price is its query cost.
    rate_bucket: int = 1000
    rate_restore: float = 50.0
    # Reporting deadlines (DESIGN.md §1.2), days from the judgment's effective date, the
    # release date and the correction expiry date: a notice received later is late.
    deadline_judgment_days: int = 30
    deadline_release_days: int = 30
    deadline_correction_expiry_days: int = 30
    # Origins whose pages may call the API from a browser (CONTRACT.md §2), comma-separated
    # (`https://portal.example.gov,http://127.0.0.1:3000`); none by default.
    cors_origins: str = ""
    # What `registry serve` logs (api/logs.py): the least level written, and one JSON object
    # per line or plain text.
    log_level: str = "INFO"
    log_format: str = "json"

    @property
    def deadlines(self) -> dict[str, int]:
        """Days allowed per notice kind."""
        return {"JUDGMENT": self.deadline_judgment_days,
                "RELEASE": self.deadline_release_days,
                "CORRECTION_EXPIRY": self.deadline_correction_expiry_days}

    @property
    def audit_key_path(self) -> str:
        return self.audit_key_file or os.path.join(
            os.path.dirname(self.signing_key_file), "audit-key")

    @property
    def audit_witness_path(self) -> str:
        return self.audit_witness or os.path.join(
            os.path.dirname(self.signing_key_file), "audit-witness.jsonl")

    @property
    def approvers_needed(self) -> int:
        """Distinct security admins a policy change needs, the proposer included."""
        return self.policy_approvers or (2 if self.production else 1)

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        return tuple(origin.strip() for origin in self.cors_origins.split(",") if origin.strip())

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            variable = f"REGISTRY_{f.name.upper()}"
            if variable in env:
                values[f.name] = _parse(variable, env[variable], f.default)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values).validated()

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes).validated()

    def validated(self) -> Settings:
        if self.env not in ENVIRONMENTS:
            raise SettingsError("REGISTRY_ENV", f"must be one of {', '.join(ENVIRONMENTS)}")
        scheme = self.database_url.split(":", 1)[0]
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
            raise SettingsError("REGISTRY_DATABASE_URL", "must be a sqlite:// or postgresql:// URL")
        if self.production and self.authz_disabled:
            raise SettingsError("REGISTRY_AUTHZ_DISABLED", "is refused in production")
        if self.token_ttl_seconds <= 0:
            raise SettingsError("REGISTRY_TOKEN_TTL_SECONDS", "must be positive")
        if self.token_max_ttl <= 0:
            raise SettingsError("REGISTRY_TOKEN_MAX_TTL", "must be positive")
        if self.token_ttl_seconds > self.token_max_ttl:
            raise SettingsError("REGISTRY_TOKEN_TTL_SECONDS",
                                f"must not exceed REGISTRY_TOKEN_MAX_TTL ({self.token_max_ttl})")
        if not 0 <= self.client_poll_seconds <= MAX_CLIENT_POLL_SECONDS:
            raise SettingsError("REGISTRY_CLIENT_POLL_SECONDS",
                                f"must be between 0 and {MAX_CLIENT_POLL_SECONDS:g} seconds")
        if self.jwks_url is not None and not self.jwks_url.startswith(("https://", "http://")):
            raise SettingsError("REGISTRY_JWKS_URL", "must be an http(s) URL")
        self._validate_oidc()
        if self.redis_url is not None and not self.redis_url.startswith(
                ("redis://", "rediss://", "unix://")):
            raise SettingsError("REGISTRY_REDIS_URL",
                                "must be a redis://, rediss:// or unix:// URL")
        if not 0 < self.audit_checkpoint_seconds <= 60:
            raise SettingsError("REGISTRY_AUDIT_CHECKPOINT_SECONDS",
                                "must be more than 0 and at most 60 seconds")
        if not 0 <= self.policy_approvers <= 10:
            raise SettingsError("REGISTRY_POLICY_APPROVERS",
                                "must be between 1 and 10 (0: 2 in production, 1 in development)")
        if not self.rate_restore > 0:
            raise SettingsError("REGISTRY_RATE_RESTORE", "must be positive")
        if self.log_level.upper() not in LOG_LEVELS:
            raise SettingsError("REGISTRY_LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}")
        if self.log_format not in LOG_FORMATS:
            raise SettingsError("REGISTRY_LOG_FORMAT", f"must be one of {', '.join(LOG_FORMATS)}")
        if not self.redis_prefix:
            raise SettingsError("REGISTRY_REDIS_PREFIX", "must not be empty")
        for name in ("max_query_tokens", "max_query_depth", "max_aliases", "max_directives",
                     "max_query_cost", "max_page_size", "rate_bucket", "deadline_judgment_days",
                     "deadline_release_days", "deadline_correction_expiry_days"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"REGISTRY_{name.upper()}", "must be positive")
        for origin in self.cors_origin_list:
            if problem := origin_problem(origin):
                raise SettingsError("REGISTRY_CORS_ORIGINS", f"{origin!r} {problem}")
        return self

    def _validate_oidc(self) -> None:
        from api.auth import ROLES  # api.auth imports this module
        from api.oidc import claim_path_problem, parse_role_map

        if self.oidc_issuer is not None:
            if self.jwks_url is not None:
                raise SettingsError("REGISTRY_OIDC_ISSUER",
                                    "cannot be set with REGISTRY_JWKS_URL (the provider's "
                                    "discovery names its keys): set only one of them")
            if problem := issuer_problem(self.oidc_issuer, self.production):
                raise SettingsError("REGISTRY_OIDC_ISSUER", problem)
        defaults = {f.name: f.default for f in fields(self)}
        for name in ("claim_role", "claim_agency", "claim_id_number", "claim_client_id",
                     "role_map", "oidc_accept_jwt_typ"):
            variable = f"REGISTRY_{name.upper()}"
            value = getattr(self, name)
            if self.oidc_issuer is None and value != defaults[name]:
                raise SettingsError(variable, "applies only to an external OpenID provider: "
                                    "set REGISTRY_OIDC_ISSUER too")
            if name.startswith("claim_") and (problem := claim_path_problem(value)):
                raise SettingsError(variable, problem)
        if self.role_map is not None:
            try:
                parse_role_map(self.role_map, ROLES)
            except ValueError as error:
                raise SettingsError("REGISTRY_ROLE_MAP", str(error)) from None


def issuer_problem(issuer: str, production: bool) -> str | None:
    """Why `issuer` cannot be an OpenID provider's issuer identifier (OpenID Connect
    Discovery §3: https, no query or fragment; http is allowed outside production, for a
    provider on this machine or in tests), else None."""
    try:
        parts = urlsplit(issuer)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "is not a URL"
    schemes = ("https",) if production else ("https", "http")
    if parts.scheme not in schemes or not parts.hostname:
        return ("must be an https:// URL" if production
                else "must be an https:// (or, outside production, http://) URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        return "must have no query, fragment or user name"
    return None


def origin_problem(origin: str) -> str | None:
    """Why `origin` is not an origin as a browser sends it in `Origin` (RFC 6454:
    `scheme://host[:port]`, lower case, no default port, no path), else None. A browser
    never sends anything else, so any other entry would silently match nothing; `*` and
    `null` would let any page (or any sandboxed one) call the API."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// origin, e.g. https://portal.example.gov"
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        return "must be scheme://host[:port] alone (no path, not even a trailing /)"
    if port == {"http": 80, "https": 443}[parts.scheme]:
        return "names its scheme's default port, which a browser leaves out of Origin"
    if origin != origin.lower():
        return "must be lower case, as a browser sends it"
    return None


def _parse(variable: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(variable, "must be true or false")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(variable, "must be a whole number") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(variable, "must be a number") from None
    return raw or None if default is None else raw
