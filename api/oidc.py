"""An external OpenID provider (REGISTRY_OIDC_ISSUER): its discovery document, its keys, and
the mapping of its claims onto the registry's (CONTRACT.md §3).

`OpenIDProvider` is the key source `TokenVerifier` asks for a kid: discovery is fetched once
(`/.well-known/openid-configuration`, else RFC 8414 `/.well-known/oauth-authorization-server`),
its `issuer` must equal the configured one exactly (mix-up defence), and its `jwks_uri` is
read; an unknown kid refetches both, at most once a minute, so junk tokens cannot flood the
provider. `ClaimMapping` turns the provider's claims into the registry's `role`, `agency`,
`id_number` and `client_id` (REGISTRY_CLAIM_*, REGISTRY_ROLE_MAP).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc.jwk import Key

log = logging.getLogger(__name__)

DISCOVERY_PATHS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
REFETCH_SECONDS = 60.0
FETCH_TIMEOUT_SECONDS = 5.0
# Where a provider names the algorithms it signs with: OpenID Connect Discovery's (required
# there) and the name some providers use for access tokens.
ALGORITHM_FIELDS = ("id_token_signing_alg_values_supported",
                    "access_token_signing_alg_values_supported")
# The registry's claims and the REGISTRY_CLAIM_* setting that renames each.
MAPPED_CLAIMS = ("role", "agency", "id_number", "client_id")
# A claim name, or a dotted path into nested objects (`realm_access.roles`).
_CLAIM_PATH = re.compile(r"[^.\s]+(\.[^.\s]+)*")


class ProviderError(Exception):
    """The provider's discovery or keys could not be had; the message names the setting."""


class ClaimRefused(Exception):
    """A token's claims do not map onto the registry's; `description` is safe to return."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


# --- Settings -------------------------------------------------------------------------------

def claim_path_problem(path: str) -> str | None:
    if not _CLAIM_PATH.fullmatch(path):
        return "must be a claim name or a dotted path (realm_access.roles), without spaces"
    return None


def parse_role_map(raw: str, roles: Collection[str]) -> dict[str, str]:
    """`provider_value:registry_role,...` (split at each value's last colon, so a provider's
    value may hold colons); ValueError says what is wrong."""
    mapping: dict[str, str] = {}
    for entry in raw.split(","):
        entry = entry.strip()
        if not entry:
            continue
        value, colon, role = entry.rpartition(":")
        value, role = value.strip(), role.strip()
        if not colon or not value:
            raise ValueError(f"{entry!r} is not provider_value:registry_role")
        if role not in roles:
            raise ValueError(f"{entry!r}: {role!r} is not a registry role "
                             f"({', '.join(sorted(roles))})")
        if value in mapping:
            raise ValueError(f"{value!r} is mapped twice")
        mapping[value] = role
    if not mapping:
        raise ValueError("names no provider_value:registry_role pair")
    return mapping


# --- Claims ---------------------------------------------------------------------------------

_MISSING = object()


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The claim named `path`: a top-level claim of exactly that name first (providers use
    URLs with dots as claim names), else the dotted path into nested objects."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


@dataclass(frozen=True)
class ClaimMapping:
    """Where the registry's claims are in a provider's token. With `role_map`, only the
    provider values it names count (each translated); without, a value counts when it is a
    registry role's name. A list of values must hold exactly one that counts."""

    roles: frozenset[str]
    role: str = "role"
    agency: str = "agency"
    id_number: str = "id_number"
    client_id: str = "client_id"
    role_map: Mapping[str, str] | None = None

    def apply(self, claims: dict[str, Any]) -> dict[str, Any]:
        """`claims` with the registry's `role`, `agency`, `id_number` and `client_id` taken
        from where the provider puts them; refusals name the provider's claim."""
        mapped = dict(claims)
        for name in ("agency", "id_number"):
            path = getattr(self, name)
            value = claim_at(claims, path)
            if value is _MISSING or value is None:
                mapped.pop(name, None)
            elif isinstance(value, str):
                mapped[name] = value
            else:
                raise ClaimRefused(f"invalid claim {path}")
        client_id = claim_at(claims, self.client_id)
        if not isinstance(client_id, str) or not client_id:
            raise ClaimRefused(f"invalid or missing claim {self.client_id}")
        mapped["client_id"] = client_id
        mapped["role"] = self._role(claim_at(claims, self.role))
        return mapped

    def _role(self, value: Any) -> str:
        if value is _MISSING or value is None or value == "" or value == []:
            raise ClaimRefused(f"invalid or missing claim {self.role}")
        if isinstance(value, str):
            role = self._translate(value)
            if role is None:
                raise ClaimRefused("unknown role")
            return role
        if isinstance(value, list):
            found = {role for item in value if isinstance(item, str)
                     if (role := self._translate(item)) is not None}
            if len(found) == 1:
                return found.pop()
            if not found:
                raise ClaimRefused(f"no registry role in claim {self.role}")
            raise ClaimRefused(f"more than one registry role in claim {self.role}")
        raise ClaimRefused(f"invalid claim {self.role}")

    def _translate(self, value: str) -> str | None:
        role = value if self.role_map is None else self.role_map.get(value)
        return role if role in self.roles else None


# --- Discovery and keys ---------------------------------------------------------------------

@dataclass(frozen=True)
class Discovery:
    jwks_uri: str
    algorithms: tuple[str, ...]


class OpenIDProvider:
    """The provider's keys by kid, found through its discovery document."""

    def __init__(
        self,
        issuer: str,
        allowed_algorithms: tuple[str, ...],
        import_keys: Callable[[dict[str, Any]], dict[str, Key]],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.issuer = issuer
        self.allowed_algorithms = allowed_algorithms
        self._import_keys = import_keys
        self._transport = transport
        self.discovery: Discovery | None = None
        self.keys: dict[str, Key] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def algorithms(self) -> tuple[str, ...]:
        return self.discovery.algorithms if self.discovery else ()

    async def start(self) -> None:
        """Discovery and keys now, or ProviderError (start-up fails fast on it)."""
        async with self._lock:
            self._fetched_at = time.monotonic()
            async with self._client() as client:
                discovery = await self._discover(client)
                keys = await self._fetch_keys(client, discovery.jwks_uri)
            if not keys:
                raise ProviderError(f"REGISTRY_OIDC_ISSUER: {discovery.jwks_uri} holds no "
                                    "asymmetric signing key with a kid")
            self.discovery, self.keys = discovery, keys
        log.info("OpenID provider %s: keys %s, algorithms %s", self.issuer,
                 ", ".join(sorted(keys)), ", ".join(discovery.algorithms))

    async def key(self, kid: str) -> Key | None:
        """The key of `kid`; an unknown one refetches discovery and keys at most once a
        minute (a failed refetch keeps what was known, and is logged)."""
        key = self.keys.get(kid)
        if key is not None:
            return key
        async with self._lock:
            key = self.keys.get(kid)
            if key is None and self._may_refetch():
                await self._refetch()
                key = self.keys.get(kid)
        return key

    def _may_refetch(self) -> bool:
        last = self._fetched_at
        return last is None or time.monotonic() - last >= REFETCH_SECONDS

    async def _refetch(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            async with self._client() as client:
                discovery = await self._discover(client)
                keys = await self._fetch_keys(client, discovery.jwks_uri)
        except ProviderError as error:
            log.warning("%s (the keys known so far stay in use)", error)
            return
        self.discovery = discovery
        if keys:
            self.keys = keys

    def _client(self) -> httpx.AsyncClient:
        # No redirects: the documents are read at the issuer's address and its jwks_uri,
        # never somewhere a response points to.
        return httpx.AsyncClient(transport=self._transport, timeout=FETCH_TIMEOUT_SECONDS,
                                 follow_redirects=False)

    async def _discover(self, client: httpx.AsyncClient) -> Discovery:
        base = self.issuer.rstrip("/")
        document: Any = None
        for path in DISCOVERY_PATHS:
            url = base + path
            try:
                response = await client.get(url, headers={"Accept": "application/json"})
            except httpx.HTTPError as error:
                raise ProviderError(f"REGISTRY_OIDC_ISSUER: {url} could not be fetched "
                                    f"({type(error).__name__})") from None
            if response.status_code == 404 and path != DISCOVERY_PATHS[-1]:
                continue
            if response.status_code != 200:
                raise ProviderError(f"REGISTRY_OIDC_ISSUER: {url} answered HTTP "
                                    f"{response.status_code}")
            try:
                document = response.json()
            except ValueError:
                raise ProviderError(f"REGISTRY_OIDC_ISSUER: {url} is not JSON") from None
            break
        if not isinstance(document, dict):
            raise ProviderError(f"REGISTRY_OIDC_ISSUER: the discovery document at {url} is "
                                "not a JSON object")
        if document.get("issuer") != self.issuer:
            raise ProviderError(f"REGISTRY_OIDC_ISSUER: the discovery document at {url} names "
                                f"the issuer {document.get('issuer')!r}, not {self.issuer!r}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise ProviderError(f"REGISTRY_OIDC_ISSUER: the discovery document at {url} has "
                                "no http(s) jwks_uri")
        return Discovery(jwks_uri=jwks_uri, algorithms=self._algorithms(document, url))

    def _algorithms(self, document: dict[str, Any], url: str) -> tuple[str, ...]:
        """The provider's signing algorithms that the registry accepts; all of the registry's
        when the document names none (RFC 8414 has no field for them)."""
        named = [alg for field in ALGORITHM_FIELDS
                 if isinstance(values := document.get(field), list)
                 for alg in values if isinstance(alg, str)]
        if not named:
            return self.allowed_algorithms
        usable = tuple(alg for alg in self.allowed_algorithms if alg in named)
        if not usable:
            raise ProviderError(f"REGISTRY_OIDC_ISSUER: the provider signs with "
                                f"{', '.join(dict.fromkeys(named))}, none of which the "
                                f"registry accepts ({', '.join(self.allowed_algorithms)})")
        return usable

    async def _fetch_keys(self, client: httpx.AsyncClient, url: str) -> dict[str, Key]:
        try:
            response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            jwks = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderError(f"REGISTRY_OIDC_ISSUER: the provider's jwks_uri {url} could "
                                f"not be read ({type(error).__name__})") from None
        if not isinstance(jwks, dict):
            raise ProviderError(f"REGISTRY_OIDC_ISSUER: {url} is not a JWK set")
        return self._import_keys(jwks)
