"""The resource server: a bearer JWT access token (RFC 9068) becomes a `Principal`.

The middleware resolves the principal once per request and stores it in
`scope["state"]["principal"]`; everything downstream reads `request.state.principal`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import httpx
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError
from joserfc.jwk import Key, KeySet
from joserfc.jws import JWSRegistry, extract_compact, validate_compact
from joserfc.jwt import JWTClaimsRegistry

from api.oidc import ClaimMapping, ClaimRefused, OpenIDProvider, parse_role_map
from api.settings import Settings

if TYPE_CHECKING:
    from api.issuer import Issuer
    from api.revocation import ClientDirectory, GrantDirectory

log = logging.getLogger(__name__)

ROLES = frozenset({
    "registry_clerk", "judge", "prosecutor", "police_officer", "state_security_officer",
    "judicial_admin_officer", "prison_officer", "defense_lawyer", "employer", "recruiter",
    "school", "individual", "auditor", "security_admin",
})

# Asymmetric algorithms only: `none` and every HS* are absent, so a token "signed" with
# our public key used as an HMAC secret never reaches a verification routine.
ALLOWED_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA", "Ed25519")
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
# What an external OpenID provider's tokens may be typed, with REGISTRY_OIDC_ACCEPT_JWT_TYP
# or untyped; never for the embedded issuer's.
PLAIN_JWT_TYPES = frozenset({"jwt"})
# Key material in a header would let the token choose its own verification key.
UNTRUSTED_HEADERS = frozenset({"jwk", "jku", "x5u", "x5c"})
LEEWAY_SECONDS = 30
JWKS_REFETCH_SECONDS = 60.0
VERIFIED_CACHE_SECONDS = JWKS_REFETCH_SECONDS
VERIFIED_CACHE_SIZE = 10_000
MAX_TOKEN_LENGTH = 8192
# The client id of the tokens the operator mints with `registry token issue`: no OAuth client
# row stands behind it (so no revocation applies) and its requesters are told apart by `sub`.
CLI_CLIENT_ID = "registry-cli"
REQUIRED_CLAIMS = ("iss", "aud", "exp", "iat", "jti", "sub", "client_id", "role")
_B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")


def require_role(role: str, option: str = "--role") -> str:
    if role not in ROLES:
        raise ValueError(f"{option} must be one of: {', '.join(sorted(ROLES))}")
    return role


# RFC 6749 §3.3 scope-token: printable ASCII but space, '"' and '\\'.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,64}")


def require_scopes(scopes: str, option: str = "--scope") -> str:
    """Space-separated scope tokens, normalised; a malformed one names the option."""
    tokens = scopes.split()
    for token in tokens:
        if not _SCOPE_TOKEN.fullmatch(token):
            raise ValueError(f"{option}: {token!r} is not a scope (RFC 6749 section 3.3)")
    return " ".join(dict.fromkeys(tokens))


@dataclass(frozen=True)
class Principal:
    sub: str
    role: str
    agency: str | None
    id_number: str | None
    scopes: frozenset[str]
    client_id: str | None
    token_id: str | None
    authenticated: bool
    # The sign-in a token of the authorization-code grant comes from (api/grants.py).
    grant_id: str | None = None


ANONYMOUS = Principal(
    sub="anonymous", role="anonymous", agency=None, id_number=None, scopes=frozenset(),
    client_id=None, token_id=None, authenticated=False,
)


class InvalidToken(Exception):
    """A token was refused; `description` is safe to return and never contains the token."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def import_verification_keys(jwks: dict[str, Any]) -> dict[str, Key]:
    """Public signature keys by kid. Symmetric keys and keys without a kid are skipped."""
    keys: dict[str, Key] = {}
    for data in jwks.get("keys", []):
        if not isinstance(data, dict) or data.get("kty") not in ("RSA", "EC", "OKP"):
            continue
        if data.get("use", "sig") != "sig" or not isinstance(data.get("kid"), str):
            continue
        try:
            key = KeySet.import_key_set({"keys": [data]}).keys[0]
        except (JoseError, ValueError, TypeError):
            log.warning("skipping a JWKS key that does not import (kid %s)", data.get("kid"))
            continue
        if key.is_private:
            key = key.import_key(key.as_dict(private=False))
        keys[data["kid"]] = key
    return keys


class TokenVerifier:
    """Checks signature, header and claims of an access token (CONTRACT.md §2, §3)."""

    def __init__(
        self,
        settings: Settings,
        issuer: Issuer | None,
        *,
        http_transport: httpx.AsyncBaseTransport | None = None,
        clients: ClientDirectory | None = None,
    ) -> None:
        self.settings = settings
        # The embedded issuer's client table; None with REGISTRY_JWKS_URL (the identity
        # provider's clients are not ours) and where no database is at hand.
        self.clients = clients
        self._registry = JWSRegistry(algorithms=list(ALLOWED_ALGORITHMS))
        # An external OpenID provider (api/oidc.py): its discovery names the keys, and its
        # claims are mapped onto ours (so `client_id` and `role` are checked after mapping).
        self.provider: OpenIDProvider | None = None
        self._mapping: ClaimMapping | None = None
        if settings.oidc_issuer is not None:
            self.provider = OpenIDProvider(settings.oidc_issuer, ALLOWED_ALGORITHMS,
                                           import_verification_keys, transport=http_transport)
            self._mapping = ClaimMapping(
                roles=ROLES, role=settings.claim_role, agency=settings.claim_agency,
                id_number=settings.claim_id_number, client_id=settings.claim_client_id,
                role_map=(parse_role_map(settings.role_map, ROLES)
                          if settings.role_map is not None else None))
        ours = self._mapping is None  # else client_id and role are checked once mapped
        self._claims = JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": settings.oidc_issuer or settings.issuer},
            aud={"essential": True, "value": settings.audience},
            exp={"essential": True},
            iat={"essential": True},
            jti={"essential": True},
            sub={"essential": True},
            client_id={"essential": ours},
            role={"essential": ours},
        )
        self._transport = http_transport
        # token -> (wall-clock time until which it stands verified, its principal, its iat)
        self._verified: OrderedDict[str, tuple[float, Principal, float]] = OrderedDict()
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        if settings.jwks_url is None and self.provider is None:
            if issuer is None:
                raise ValueError("an embedded issuer is needed when neither REGISTRY_JWKS_URL "
                                 "nor REGISTRY_OIDC_ISSUER is set")
            self._keys = import_verification_keys(issuer.jwks())
        else:
            self._keys = {}

    async def start(self) -> None:
        """At start-up: an external OpenID provider's discovery and keys, or
        `api.oidc.ProviderError` naming REGISTRY_OIDC_ISSUER (start-up fails fast)."""
        if self.provider is not None:
            await self.provider.start()

    async def verify(self, token: str) -> Principal:
        """Checks the token, or finds it checked already, then asks whether its client still
        stands (on every call: revocation is never hidden behind this cache).

        A verified token is remembered until the earlier of its `exp` (without leeway) and
        VERIFIED_CACHE_SECONDS (the key set's refetch interval, so a key withdrawn from an
        external JWKS stops being honoured as soon as it would be refetched); then it is
        checked again in full.
        """
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("malformed token")
        remembered = self._verified.get(token)
        if remembered is not None and time.time() >= remembered[0]:
            del self._verified[token]
            remembered = None
        if remembered is not None:
            self._verified.move_to_end(token)
            _, principal, issued_at = remembered
        else:
            principal, expires, issued_at = await self._verify(token)
            self._verified[token] = (min(expires, time.time() + VERIFIED_CACHE_SECONDS),
                                     principal, issued_at)
            if len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        if self.clients is not None and principal.client_id is not None and \
                await self.clients.revoked(principal.client_id, issued_at):
            raise InvalidToken("token revoked")
        if await self._grant_revoked(principal):
            raise InvalidToken("token revoked")
        return principal

    # The embedded issuer's revoked sign-ins (api/revocation.GrantDirectory); None with
    # REGISTRY_JWKS_URL and where no database is at hand.
    grants: GrantDirectory | None = None

    async def _grant_revoked(self, principal: Principal) -> bool:
        """Whether the sign-in the token comes from is revoked (a code used twice, a rotated
        refresh token used again, the person disabled), asked on every call as above."""
        if self.grants is None or principal.grant_id is None:
            return False
        return await self.grants.revoked(principal.grant_id)

    async def _verify(self, token: str) -> tuple[Principal, float, float]:
        try:
            obj = extract_compact(token.encode("ascii"))
            header = obj.headers()
        except (JoseError, ValueError, TypeError, UnicodeError):
            raise InvalidToken("malformed token") from None
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise InvalidToken("unsupported signing algorithm")
        typ = header.get("typ")
        typed = isinstance(typ, str) and typ.lower() in ACCESS_TOKEN_TYPES
        if not typed and not self._plain_jwt_accepted(typ):
            raise InvalidToken("not an access token (typ must be at+jwt)")
        if UNTRUSTED_HEADERS & header.keys():
            raise InvalidToken("key material in the token header is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("missing key id")
        key = await self._key(kid)
        if key is None:
            raise InvalidToken("unknown signing key")
        key_alg = key.get("alg")
        if key_alg is not None and key_alg != alg:
            raise InvalidToken("invalid signature")
        if self.provider is not None and alg not in self.provider.algorithms:
            raise InvalidToken("unsupported signing algorithm")
        try:
            if not validate_compact(obj, key, registry=self._registry):
                raise InvalidToken("invalid signature")
        except JoseError:
            raise InvalidToken("invalid signature") from None
        try:
            claims = json.loads(obj.payload)
        except ValueError:
            raise InvalidToken("malformed token") from None
        if not isinstance(claims, dict):
            raise InvalidToken("malformed token")
        return self._principal(claims), float(claims["exp"]), float(claims["iat"])

    def _plain_jwt_accepted(self, typ: Any) -> bool:
        """A token typed `JWT` or untyped: only from an external OpenID provider, and only
        with REGISTRY_OIDC_ACCEPT_JWT_TYP."""
        return (self.provider is not None and self.settings.oidc_accept_jwt_typ
                and (typ is None or isinstance(typ, str)
                     and typ.lower() in PLAIN_JWT_TYPES))

    def _principal(self, claims: dict[str, Any]) -> Principal:
        try:
            self._claims.validate(claims)
        except ExpiredTokenError:
            raise InvalidToken("token expired") from None
        except ClaimError as error:
            raise InvalidToken(f"invalid or missing claim {error.claim}") from None
        if claims["exp"] - claims["iat"] > self.settings.token_max_ttl:
            raise InvalidToken("token lifetime exceeds the maximum")
        if self._mapping is not None:
            try:
                claims = self._mapping.apply(claims)
            except ClaimRefused as refused:
                raise InvalidToken(refused.description) from None
        strings = ("client_id", "role")
        if not all(isinstance(claims[name], str) and claims[name] for name in strings):
            raise InvalidToken("invalid or missing claim client_id or role")
        for name in ("agency", "id_number", "scope", "grant_id"):
            if claims.get(name) is not None and not isinstance(claims[name], str):
                raise InvalidToken(f"invalid or missing claim {name}")
        if claims["role"] not in ROLES:
            raise InvalidToken("unknown role")
        return Principal(
            sub=claims["sub"],
            role=claims["role"],
            agency=claims.get("agency") or None,
            id_number=claims.get("id_number") or None,
            scopes=frozenset((claims.get("scope") or "").split()),
            client_id=claims["client_id"],
            token_id=claims["jti"],
            authenticated=True,
            grant_id=claims.get("grant_id") or None,
        )

    async def _key(self, kid: str) -> Key | None:
        if self.provider is not None:
            return await self.provider.key(kid)
        key = self._keys.get(kid)
        if key is not None or self.settings.jwks_url is None:
            return key
        async with self._lock:
            key = self._keys.get(kid)
            if key is None and self._may_refetch():
                await self._fetch_jwks(self.settings.jwks_url)
                key = self._keys.get(kid)
        return key

    def _may_refetch(self) -> bool:
        """An unknown kid refetches at most once a minute, so junk tokens cannot flood the IdP."""
        last = self._fetched_at
        return last is None or time.monotonic() - last >= JWKS_REFETCH_SECONDS

    async def _fetch_jwks(self, url: str) -> None:
        self._fetched_at = time.monotonic()
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=5.0) as client:
                response = await client.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                jwks = response.json()
        except (httpx.HTTPError, ValueError):
            log.warning("could not fetch the JWKS from REGISTRY_JWKS_URL", exc_info=True)
            return
        if isinstance(jwks, dict):
            keys = import_verification_keys(jwks)
            if keys:
                self._keys = keys


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BearerAuthMiddleware:
    """Pure ASGI: resolves the principal, or answers 401 before the app sees the request."""

    def __init__(
        self,
        app: ASGIApp,
        verifier: TokenVerifier,
        protected_prefixes: tuple[str, ...] = ("/graphql",),
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.protected_prefixes = protected_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if not scope["path"].startswith(self.protected_prefixes):
            state["principal"] = ANONYMOUS
            await self.app(scope, receive, send)
            return
        try:
            principal = await self._authenticate(scope)
        except _Refused as refused:
            log.info("request refused: %s", refused.log_message)
            await _refuse(scope, send, refused)
            return
        state["principal"] = principal
        await self.app(scope, receive, send)

    async def _authenticate(self, scope: Scope) -> Principal:
        raw_query = scope.get("query_string", b"")
        if raw_query and "access_token" in parse_qs(raw_query.decode("latin-1"),
                                                    keep_blank_values=True):
            raise _Refused("Bearer error=\"invalid_request\", error_description=\"token in URL\"",
                           "access tokens are not accepted in the URL", "token in URL")
        values = [v for k, v in scope.get("headers", []) if k.lower() == b"authorization"]
        if not values:
            if scope["type"] == "http" and scope.get("method") == "GET":
                return ANONYMOUS
            raise _Refused('Bearer realm="registry"', "authentication required", "no credentials")
        if len(values) > 1:
            raise _invalid_token("malformed authorization header")
        scheme, _, credentials = values[0].decode("latin-1").strip().partition(" ")
        if scheme.lower() != "bearer":
            # RFC 6750 §3.1: a request without bearer credentials gets no error code.
            raise _Refused('Bearer realm="registry"', "authentication required",
                           "not a bearer credential")
        token = credentials.strip()
        if not _B64TOKEN.match(token):
            raise _invalid_token("malformed token")
        try:
            return await self.verifier.verify(token)
        except InvalidToken as error:
            raise _invalid_token(error.description) from None


class _Refused(Exception):
    def __init__(self, challenge: str, message: str, log_message: str) -> None:
        super().__init__(message)
        self.challenge = challenge
        self.message = message
        self.log_message = log_message


def _invalid_token(description: str) -> _Refused:
    safe = re.sub(r'[^\x20-\x7e]|["\\]', "", description)
    return _Refused(f'Bearer error="invalid_token", error_description="{safe}"',
                    f"invalid access token: {safe}", safe)


async def _refuse(scope: Scope, send: Send, refused: _Refused) -> None:
    body = json.dumps({"errors": [{"message": refused.message,
                                   "extensions": {"code": "UNAUTHENTICATED"}}]}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"www-authenticate", refused.challenge.encode("latin-1")),
    ]
    if scope["type"] == "websocket":
        # Denial before accept: servers answer the handshake with HTTP 403.
        await send({"type": "websocket.close", "code": 1008})
        return
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})
