"""The embedded OAuth2 issuer: signing key, RFC 9068 access tokens, JWKS, RFC 8414
metadata and the token endpoint (client credentials; authorization code with PKCE and
refresh tokens for people who sign in, api/grants.py and api/signin.py).

The token endpoint runs authlib's RFC 6749 `AuthorizationServer` with its
`ClientCredentialsGrant`, `AuthorizationCodeGrant` (RFC 7636 `CodeChallenge`) and
`RefreshTokenGrant` (authlib has no starlette server integration, so this module
adapts the request and the response). authlib's server is synchronous: the handler
loads the client row asynchronously first, then runs authlib in the throttle's one worker
thread (api/token_throttle.py), where the scrypt check of the client secret neither blocks
the event loop nor runs 40 times at once.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio.from_thread
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidRequestError,
    OAuth2Error,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6749.util import extract_basic_authorization, scope_to_list
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from limits.errors import StorageError
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.auth import CLI_CLIENT_ID, require_role, require_scopes
from api.clients import verify_client_secret
from api.grants import (
    USER_AUTH_METHODS,
    CodeGrant,
    PendingCode,
    RefreshGrant,
    S256CodeChallenge,
    SignedIn,
    save_refresh,
)
from api.settings import Settings
from api.token_throttle import BUSY_RETRY_AFTER, Busy, TokenThrottle
from db.engine import Database
from db.models.clients import Client
from db.secret_files import write_secret_once

log = logging.getLogger(__name__)

RSA_BITS = 2048
# (resolved path, inode, mtime_ns, size) -> its keys: SigningKeys.load_or_create.
_LOADED: dict[tuple[str, int, int, int], SigningKeys] = {}
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class SigningKeys:
    """The issuer's private signing key (RS256 on RSA, or ES256 on P-256), kid = RFC 7638.

    A key file is parsed once per process while it stays the same file (inode, size and
    modification time): parsing an RSA key checks it, ~100 ms, and every application built
    in a process (the tests build thousands) loaded it again. A replaced file is read anew.
    """

    def __init__(self, key: RSAKey | ECKey) -> None:
        if not key.is_private:
            raise ValueError("REGISTRY_SIGNING_KEY_FILE must hold a private key")
        if isinstance(key, RSAKey):
            self.alg = "RS256"
        elif isinstance(key, ECKey) and key.get("crv") == "P-256":
            self.alg = "ES256"
        else:
            raise ValueError("REGISTRY_SIGNING_KEY_FILE must hold an RSA or EC P-256 key")
        self.kid: str = key.thumbprint()
        self.private_key = type(key).import_key(
            key.as_dict(private=True), parameters={"kid": self.kid, "alg": self.alg, "use": "sig"}
        )

    def sign_text(self, text: str) -> str:
        """A compact JWS of `text` (the audit checkpoints)."""
        return jws.serialize_compact({"alg": self.alg, "kid": self.kid}, text.encode(),
                                     self.private_key, algorithms=[self.alg])

    @classmethod
    def load_or_create(cls, path: str) -> SigningKeys:
        """Two processes starting at once may both generate a key; `os.link` lets only the
        first one land, and both then load the file, so they always sign with the same key."""
        target = Path(path)
        if not target.exists():
            write_secret_once(target,
                              RSAKey.generate_key(RSA_BITS, private=True).as_pem(private=True))
        with target.open("rb") as handle:  # what is read is what was looked at
            status = os.fstat(handle.fileno())
            identity = (str(target.resolve()), status.st_ino, status.st_mtime_ns,
                        status.st_size)
            if (known := _LOADED.get(identity)) is not None:
                return known
            pem = handle.read()
        keys = cls._from_pem(pem, path)
        if len(_LOADED) >= 64:
            _LOADED.clear()
        _LOADED[identity] = keys
        return keys

    @classmethod
    def _from_pem(cls, pem: bytes, path: str) -> SigningKeys:
        try:
            loaded = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError):
            raise ValueError(
                f"REGISTRY_SIGNING_KEY_FILE: {path} is not a PEM private key"
            ) from None
        if isinstance(loaded, rsa.RSAPrivateKey):
            return cls(RSAKey.import_key(pem))
        if isinstance(loaded, ec.EllipticCurvePrivateKey):
            return cls(ECKey.import_key(pem))
        raise ValueError("REGISTRY_SIGNING_KEY_FILE must hold an RSA or EC P-256 key")

    def public_jwk(self) -> dict[str, Any]:
        return dict(self.private_key.as_dict(private=False))


class CheckpointKeyring:
    """The public keys that verify audit checkpoints, chosen by the checkpoint's `kid`: the
    signing key's own, and each one kept in the keyring directory by `registry audit
    checkpoint`, so that checkpoints signed before the key was replaced still verify.

    The directory is trusted as the signing key file is: whoever can write one can write
    the other, so it adds no weaker link."""

    ALGORITHMS = ("RS256", "ES256")

    def __init__(self, jwks: list[dict[str, Any]]) -> None:
        self._keys = KeySet.import_key_set({"keys": jwks})

    @classmethod
    def load(cls, directory: str, current: SigningKeys | None) -> CheckpointKeyring | None:
        """None when there is no key at all to verify with."""
        found: dict[str, dict[str, Any]] = {}
        for path in sorted(Path(directory).glob("*.json")):
            try:
                jwk = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raise ValueError(f"audit keyring: {path} is not a JSON web key") from None
            if not isinstance(jwk, dict) or "d" in jwk or not jwk.get("kid"):
                raise ValueError(f"audit keyring: {path} must be a public JWK with a kid")
            found[str(jwk["kid"])] = jwk
        if current is not None:
            found[current.kid] = current.public_jwk()
        return cls(list(found.values())) if found else None

    def verify_text(self, text: str, signature: str) -> bool:
        try:
            found = jws.deserialize_compact(signature, self._keys,
                                            algorithms=list(self.ALGORITHMS))
        except (JoseError, ValueError):
            return False
        return found.payload == text.encode()


class Issuer:
    def __init__(self, settings: Settings, keys: SigningKeys) -> None:
        self.settings = settings
        self.keys = keys

    @property
    def token_endpoint(self) -> str:
        return self.settings.issuer.rstrip("/") + "/oauth/token"

    @property
    def authorization_endpoint(self) -> str:
        return self.settings.issuer.rstrip("/") + "/oauth/authorize"

    def issue(
        self,
        *,
        sub: str,
        role: str,
        client_id: str,
        agency: str | None = None,
        id_number: str | None = None,
        scopes: str = "",
        ttl: int | None = None,
    ) -> str:
        require_role(role)
        lifetime = ttl if ttl is not None else self.settings.token_ttl_seconds
        if not 0 < lifetime <= self.settings.token_max_ttl:
            raise ValueError(f"--ttl must be between 1 and {self.settings.token_max_ttl} "
                             "seconds (REGISTRY_TOKEN_MAX_TTL)")
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.settings.issuer,
            "aud": self.settings.audience,
            "sub": sub,
            "client_id": client_id,
            "role": role,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": secrets.token_urlsafe(16),
        }
        if agency:
            claims["agency"] = agency
        if id_number:
            claims["id_number"] = id_number
        if scopes:
            claims["scope"] = scopes
        header = {"typ": "at+jwt", "alg": self.keys.alg, "kid": self.keys.kid}
        return jwt.encode(header, claims, self.keys.private_key, algorithms=[self.keys.alg])

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.keys.public_jwk()]}

    def metadata(self) -> dict[str, Any]:
        issuer = self.settings.issuer.rstrip("/")
        return {
            "issuer": self.settings.issuer,
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "jwks_uri": issuer + "/.well-known/jwks.json",
            "grant_types_supported": ["client_credentials", "authorization_code",
                                      "refresh_token"],
            "token_endpoint_auth_methods_supported": list(USER_AUTH_METHODS),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "scopes_supported": [],
            "token_endpoint_auth_signing_alg_values_supported": [],
            "code_challenge_methods_supported": ["S256"],
            # No ID tokens are issued: the access token (RFC 9068) carries the claims.
            "subject_types_supported": ["public"],
            "authorization_response_iss_parameter_supported": False,
        }


class _RegisteredClient(ClientMixin):  # type: ignore[misc]
    """authlib's view of a `Client` row; a missing or inactive row still runs the slow
    hash, so timing and error text do not reveal which client ids exist."""

    def __init__(self, client_id: str, row: Client | None) -> None:
        self.client_id = client_id
        self.row = row if row is not None and row.active else None

    @property
    def redirect_uris(self) -> list[str]:
        return self.row.redirect_uris.split() if self.row else []

    @property
    def public(self) -> bool:
        return self.row is not None and self.row.public

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        allowed = scope_to_list(self.row.scopes if self.row else "") or []
        if scope is None:
            return " ".join(allowed)
        requested = scope_to_list(scope) or []
        if not set(requested) <= set(allowed):
            return None
        return " ".join(s for s in allowed if s in requested)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact, character for character: RFC 9700 §4.1.3."""
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        stored = self.row.secret_hash if self.row else None
        return verify_client_secret(stored, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """A public client authenticates with `none` only, a confidential one never does."""
        if endpoint != "token":
            return False
        if method == "none":
            return self.public
        return method in AUTH_METHODS and not self.public

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and bool(self.redirect_uris)

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "client_credentials":
            return self.row is not None and not self.public
        if grant_type in ("authorization_code", "refresh_token"):
            return bool(self.redirect_uris)
        return False


class _ClientCredentials(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        # authlib's own version logs the token at debug level; tokens are never logged here.
        token = self.generate_token(scope=self.request.payload.scope, include_refresh_token=False)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class _TokenGenerator(JWTBearerTokenGenerator):  # type: ignore[misc]
    """authlib's RFC 9068 generator, with the registry's audience and subject attributes."""

    def __init__(self, issuer: Issuer) -> None:
        super().__init__(issuer=issuer.settings.issuer, alg=issuer.keys.alg,
                         expires_generator=issuer.settings.token_ttl_seconds,
                         refresh_token_generator=_refresh_token)
        self._keys = KeySet([issuer.keys.private_key])
        self._audience = issuer.settings.audience

    def get_jwks(self) -> KeySet:
        return self._keys

    def get_audiences(self, client: _RegisteredClient, user: Any, scope: str) -> str:
        return self._audience

    def get_jti(self, client: _RegisteredClient, grant_type: str, user: Any, scope: str) -> str:
        return secrets.token_urlsafe(16)

    def get_extra_claims(
        self, client: _RegisteredClient, grant_type: str, user: Any, scope: str
    ) -> dict[str, Any]:
        assert client.row is not None
        claims: dict[str, Any] = {"role": client.row.role}
        if client.row.agency_code:
            claims["agency"] = client.row.agency_code
        if isinstance(user, SignedIn):
            # The person's attributes, never the client row's (api/grants.py).
            claims = {"role": user.user.role, "grant_id": user.grant_id}
            if user.user.agency_code:
                claims["agency"] = user.user.agency_code
            if user.user.id_number:
                claims["id_number"] = user.user.id_number
        revoked = client.row.revoked_before
        if revoked is not None and int(time.time()) < revoked.timestamp():
            # Enabled or rotated within this second: an `iat` of the whole second would date
            # the token before `revoked_before`; one second ahead is within the leeway.
            claims["iat"] = math.ceil(revoked.timestamp())
        return claims


def _refresh_token(**_: Any) -> str:
    return secrets.token_urlsafe(32)


class _Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, uri: str, headers: Any, form: dict[str, str]) -> None:
        super().__init__("POST", uri, headers=headers)
        self.payload = BasicOAuth2Payload(form)
        self._form = form

    @property
    def args(self) -> dict[str, str]:
        return {}

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _Server(AuthorizationServer):  # type: ignore[misc]
    """One per request: `query_client` answers from the row loaded beforehand. The codes
    the authorization endpoint makes wait in `pending_codes` for its handler to store."""

    def __init__(self, generator: _TokenGenerator, client: _RegisteredClient | None,
                 database: Database) -> None:
        super().__init__(scopes_supported=None)
        self._client = client
        self.database = database
        self.pending_codes: list[PendingCode] = []
        self.register_grant(_ClientCredentials)
        self.register_grant(CodeGrant, [S256CodeChallenge()])
        self.register_grant(RefreshGrant)
        self.register_token_generator("default", generator)

    def query_client(self, client_id: str) -> _RegisteredClient | None:
        if self._client is not None and self._client.client_id == client_id:
            return self._client
        return _RegisteredClient(client_id, None)

    def create_oauth2_request(self, request: _Request) -> _Request:
        return request  # built by the handler, which has already read the body

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Access tokens are self-contained JWTs: only a refresh token is stored (hashed),
        from the worker thread the token endpoint runs authlib in."""
        refresh = token.get("refresh_token")
        if refresh and isinstance(request.user, SignedIn):
            anyio.from_thread.run(save_refresh, self.database, refresh, request.user.grant_id,
                                  request.client.get_client_id(), token.get("scope") or "")

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> Response:
        if status == 302:  # the authorization endpoint's answer: back to the client
            return Response(status_code=status, headers=dict(headers))
        return JSONResponse(body, status_code=status, headers=dict(headers))


def _error(error: OAuth2Error) -> JSONResponse:
    status, body, headers = error()
    return JSONResponse(body, status_code=status, headers=dict(headers))


async def _read_form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidRequestError("The body must be application/x-www-form-urlencoded.")
    body = await request.body()  # at most 16 KB: api/transport.BodyLimit
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise InvalidRequestError("The body is not UTF-8.") from None
    repeated = sorted(name for name, values in parsed.items() if len(values) > 1)
    if repeated:
        raise InvalidRequestError(f"Repeated parameter: {repeated[0]}.")
    form = {name: values[0] for name, values in parsed.items()}
    if not form.get("grant_type"):
        raise InvalidRequestError("Missing 'grant_type' parameter.")
    return form


def _refusal(status: int, retry_after: int, description: str) -> JSONResponse:
    """One answer for every throttled request, whichever counter refused it, so that it tells
    nothing about the client id (RFC 6749's `temporarily_unavailable`, RFC 9110 Retry-After)."""
    return JSONResponse({"error": "temporarily_unavailable", "error_description": description},
                        status_code=status, headers={"Retry-After": str(retry_after),
                                                     "Cache-Control": "no-store",
                                                     "Pragma": "no-cache"})


THROTTLED = "Too many failed attempts: retry after the number of seconds in Retry-After."
BUSY = "The token endpoint is busy: retry after the number of seconds in Retry-After."


async def _load_client(database: Database, client_id: str | None) -> _RegisteredClient | None:
    if not client_id:
        return None
    async with database.session() as session:
        row = (await session.execute(
            select(Client).where(col(Client.client_id) == client_id)
        )).scalar_one_or_none()
    return _RegisteredClient(client_id, row)


def issuer_routes(issuer: Issuer, database: Database,
                  throttle: TokenThrottle | None = None) -> list[Route]:
    generator = _TokenGenerator(issuer)
    guard = throttle or TokenThrottle(issuer.settings.with_(redis_url=None))

    async def jwks(request: Request) -> Response:
        return JSONResponse(issuer.jwks(), headers={"Cache-Control": "public, max-age=300"})

    async def metadata(request: Request) -> Response:
        return JSONResponse(issuer.metadata(), headers={"Cache-Control": "public, max-age=300"})

    async def token(request: Request) -> Response:
        try:
            form = await _read_form(request)
        except OAuth2Error as error:
            return _error(error)
        basic_id, _ = extract_basic_authorization(request.headers)
        if basic_id and ("client_secret" in form or "client_id" in form):
            # RFC 6749 §2.3: a client uses one authentication method per request.
            return _error(InvalidRequestError("Use one client authentication method."))
        try:
            oauth_request = _Request(issuer.token_endpoint, request.headers, form)
        except OAuth2Error as error:  # the issuer URL is plain http on a non-loopback host
            return _error(error)
        client_id = basic_id or form.get("client_id")
        # The peer as the server sees it: X-Forwarded-For is the attacker's to write.
        address = request.client.host if request.client else None
        try:
            return await authenticate(client_id, address, oauth_request)
        except Busy:
            return _refusal(503, BUSY_RETRY_AFTER, BUSY)
        except StorageError:
            log.warning("token endpoint: the failure counts in Redis are unreachable")
            return _refusal(503, BUSY_RETRY_AFTER, BUSY)

    async def authenticate(client_id: str | None, address: str | None,
                           oauth_request: _Request) -> Response:
        if wait := await guard.retry_after(client_id, address):
            return _refusal(429, wait, THROTTLED)
        async with guard.slot():
            # Again, now that this request's turn has come: failures of the requests that
            # were ahead of it in the queue count too.
            if wait := await guard.retry_after(client_id, address):
                return _refusal(429, wait, THROTTLED)
            server = _Server(generator, await _load_client(database, client_id), database)
            response: Response = await guard.run(
                lambda: server.create_token_response(oauth_request))
        if response.status_code == 401:
            await guard.failed(client_id, address)
        return response

    from api.signin import signin_routes  # it builds on this module

    return [
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", metadata, methods=["GET"]),
        Route("/.well-known/openid-configuration", metadata, methods=["GET"]),
        Route("/oauth/token", token, methods=["POST"]),
        *signin_routes(issuer, database, guard, generator),
    ]


def cli_issue_token(
    settings: Settings,
    sub: str,
    role: str,
    agency: str | None,
    id_number: str | None,
    ttl: int | None,
    *,
    scopes: str = "",
) -> str:
    require_role(role)
    scopes = require_scopes(scopes)
    if ttl is not None and not 0 < ttl <= settings.token_max_ttl:
        raise ValueError(f"--ttl must be between 1 and {settings.token_max_ttl} seconds "
                         "(REGISTRY_TOKEN_MAX_TTL)")
    if not sub:
        raise ValueError("--sub must not be empty")
    issuer = Issuer(settings, SigningKeys.load_or_create(settings.signing_key_file))
    return issuer.issue(sub=sub, role=role, client_id=CLI_CLIENT_ID, agency=agency,
                        id_number=id_number, ttl=ttl, scopes=scopes)
