"""An external OpenID provider (REGISTRY_OIDC_ISSUER), faked with an httpx transport: its
discovery, its keys, and the mapping of its claims; every token here is refused or accepted
by `TokenVerifier.verify` as it would be over HTTP."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from api.auth import ALLOWED_ALGORITHMS, InvalidToken, TokenVerifier
from api.oidc import ProviderError
from api.settings import Settings
from tests.security.forge import sign_hs256, sign_rs256, unsigned

ISSUER = "https://idp.example/realms/justice"
JWKS_URI = "https://idp.example/realms/justice/protocol/openid-connect/certs"
OPENID = ISSUER + "/.well-known/openid-configuration"
RFC8414 = ISSUER + "/.well-known/oauth-authorization-server"
AUDIENCE = "criminal-record-registry"


@dataclass
class FakeProvider:
    """An OpenID provider behind an httpx transport: documents by URL, requests seen."""

    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(
        2048, parameters={"kid": "idp-1", "use": "sig"}, private=True))
    documents: dict[str, tuple[int, Any]] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.documents[OPENID] = (200, {
            "issuer": ISSUER, "jwks_uri": JWKS_URI,
            "id_token_signing_alg_values_supported": ["RS256", "HS256", "none"]})
        self.documents[JWKS_URI] = (200, {"keys": [self.key.as_dict(private=False)]})

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            self.requested.append(str(request.url))
            status, body = self.documents.get(str(request.url), (404, {"error": "not found"}))
            return httpx.Response(status, json=body)

        return httpx.MockTransport(handler)

    def token(self, header: dict[str, Any] | None = None, key: Any = None,
              **claims: Any) -> str:
        return jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": "idp-1", **(header or {})},
                          provider_claims(**claims), key or self.key, algorithms=["RS256"])


def provider_claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": "officer-7", "client_id": "agency-portal",
        "role": "police_officer", "agency": "POLICE-110101", "iat": now, "exp": now + 300,
        "jti": f"jti-{time.monotonic_ns()}",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


Verifier = Callable[..., TokenVerifier]


@pytest.fixture
def verifier(provider: FakeProvider) -> Verifier:
    def make(**settings: Any) -> TokenVerifier:
        return TokenVerifier(Settings(oidc_issuer=ISSUER, **settings).validated(), None,
                             http_transport=provider.transport())

    return make


async def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    return caught.value.description


# --- Discovery ------------------------------------------------------------------------------

async def test_a_provider_token_is_accepted_after_discovery_and_one_key_fetch(
        provider: FakeProvider, verifier: Verifier) -> None:
    checking = verifier()
    await checking.start()
    for _ in range(3):
        principal = await checking.verify(provider.token())
        assert (principal.sub, principal.role, principal.agency, principal.client_id) == (
            "officer-7", "police_officer", "POLICE-110101", "agency-portal")
    assert provider.requested == [OPENID, JWKS_URI]


async def test_without_a_start_the_first_token_discovers_the_provider(
        provider: FakeProvider, verifier: Verifier) -> None:
    assert (await verifier().verify(provider.token())).sub == "officer-7"
    assert provider.requested == [OPENID, JWKS_URI]


async def test_rfc8414_metadata_is_the_fallback_when_openid_configuration_is_404(
        provider: FakeProvider, verifier: Verifier) -> None:
    provider.documents[RFC8414] = provider.documents.pop(OPENID)
    checking = verifier()
    await checking.start()
    assert (await checking.verify(provider.token())).sub == "officer-7"
    assert provider.requested == [OPENID, RFC8414, JWKS_URI]


@pytest.mark.parametrize("named", [ISSUER + "/", "https://evil.example/realms/justice",
                                   ISSUER.upper(), None])
async def test_a_discovery_document_naming_another_issuer_stops_start_up(
        provider: FakeProvider, verifier: Verifier, named: str | None) -> None:
    provider.documents[OPENID] = (200, {"issuer": named, "jwks_uri": JWKS_URI})
    with pytest.raises(ProviderError, match="REGISTRY_OIDC_ISSUER: .* names the issuer"):
        await verifier().start()
    assert JWKS_URI not in provider.requested


async def test_a_discovery_document_naming_another_issuer_gives_no_keys_later_either(
        provider: FakeProvider, verifier: Verifier) -> None:
    provider.documents[OPENID] = (200, {"issuer": "https://evil.example", "jwks_uri": JWKS_URI})
    assert await refused(verifier(), provider.token()) == "unknown signing key"
    assert JWKS_URI not in provider.requested


@pytest.mark.parametrize(("documents", "problem"), [
    ({OPENID: (500, {})}, "answered HTTP 500"),
    ({OPENID: (404, {}), RFC8414: (404, {})}, "answered HTTP 404"),
    ({OPENID: (200, ["not", "an", "object"])}, "not a JSON object"),
    ({OPENID: (200, {"issuer": ISSUER})}, "no http.s. jwks_uri"),
    ({OPENID: (200, {"issuer": ISSUER, "jwks_uri": "file:///etc/keys"})}, "no http.s. jwks_uri"),
    ({JWKS_URI: (503, {})}, "jwks_uri .* could not be read"),
    ({JWKS_URI: (200, {"keys": []})}, "holds no asymmetric signing key"),
    ({OPENID: (200, {"issuer": ISSUER, "jwks_uri": JWKS_URI,
                     "id_token_signing_alg_values_supported": ["HS256", "none"]})},
     "none of which the registry accepts"),
])
async def test_a_provider_that_cannot_be_used_stops_start_up_naming_the_setting(
        provider: FakeProvider, verifier: Verifier, documents: dict[str, Any],
        problem: str) -> None:
    provider.documents.update(documents)
    with pytest.raises(ProviderError, match=f"^REGISTRY_OIDC_ISSUER: .*{problem}"):
        await verifier().start()


async def test_an_unreachable_provider_stops_start_up_naming_the_setting() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    checking = TokenVerifier(Settings(oidc_issuer=ISSUER), None,
                             http_transport=httpx.MockTransport(unreachable))
    with pytest.raises(ProviderError,
                       match=f"REGISTRY_OIDC_ISSUER: {OPENID} could not be fetched"):
        await checking.start()


async def test_unknown_kids_refetch_discovery_and_keys_at_most_once_a_minute(
        provider: FakeProvider, verifier: Verifier) -> None:
    checking = verifier()
    await checking.start()
    stranger = RSAKey.generate_key(2048, parameters={"kid": "stranger"}, private=True)
    for _ in range(5):
        token = provider.token({"kid": "stranger"}, key=stranger)
        assert await refused(checking, token) == "unknown signing key"
    assert provider.requested == [OPENID, JWKS_URI]


async def test_a_provider_down_at_the_first_token_is_asked_again_a_minute_later(
        provider: FakeProvider, verifier: Verifier, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a start (an app whose lifespan did not run), discovery is lazy and keeps the
    same discipline: one attempt a minute, whatever the tokens."""
    up = provider.documents[OPENID]
    provider.documents[OPENID] = (503, {})
    checking = verifier()
    for _ in range(3):
        assert await refused(checking, provider.token()) == "unknown signing key"
    assert provider.requested == [OPENID]
    provider.documents[OPENID] = up
    assert await refused(checking, provider.token()) == "unknown signing key"  # not yet
    assert checking.provider is not None
    monkeypatch.setattr(checking.provider, "_fetched_at", time.monotonic() - 61)
    assert (await checking.verify(provider.token())).sub == "officer-7"
    assert provider.requested == [OPENID, OPENID, JWKS_URI]


async def test_a_rotated_provider_key_is_found_by_the_refetch(
        provider: FakeProvider, verifier: Verifier, monkeypatch: pytest.MonkeyPatch) -> None:
    checking = verifier()
    await checking.start()
    rotated = RSAKey.generate_key(2048, parameters={"kid": "idp-2", "use": "sig"}, private=True)
    provider.documents[JWKS_URI] = (200, {"keys": [rotated.as_dict(private=False)]})
    assert checking.provider is not None
    monkeypatch.setattr(checking.provider, "_fetched_at", time.monotonic() - 61)
    token = provider.token({"kid": "idp-2"}, key=rotated)
    assert (await checking.verify(token)).sub == "officer-7"


async def test_a_failed_refetch_keeps_the_known_keys_and_is_logged(
        provider: FakeProvider, verifier: Verifier, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    checking = verifier()
    await checking.start()
    provider.documents[OPENID] = (500, {})
    assert checking.provider is not None
    monkeypatch.setattr(checking.provider, "_fetched_at", time.monotonic() - 61)
    with caplog.at_level(logging.WARNING, logger="api.oidc"):
        assert await refused(checking, provider.token({"kid": "other"})) == "unknown signing key"
    assert "answered HTTP 500 (the keys known so far stay in use)" in caplog.text
    assert (await checking.verify(provider.token())).sub == "officer-7"


async def test_only_the_algorithms_the_provider_names_are_accepted(
        provider: FakeProvider, verifier: Verifier) -> None:
    ec = ECKey.generate_key("P-256", parameters={"kid": "ec-1", "use": "sig"}, private=True)
    provider.documents[JWKS_URI] = (200, {"keys": [provider.key.as_dict(private=False),
                                                   ec.as_dict(private=False)]})
    checking = verifier()
    token = jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": "ec-1"}, provider_claims(),
                       ec, algorithms=["ES256"])
    assert await refused(checking, token) == "unsupported signing algorithm"  # RS256 only
    provider.documents[OPENID] = (200, {"issuer": ISSUER, "jwks_uri": JWKS_URI})
    assert (await verifier().verify(token)).sub == "officer-7"  # none named: ours


# --- Tokens ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("claims", "problem"), [
    ({"aud": "another-api"}, "invalid or missing claim aud"),
    ({"aud": None}, "invalid or missing claim aud"),
    ({"iss": "https://idp.example/realms/other"}, "invalid or missing claim iss"),
    ({"iss": "http://127.0.0.1:8000"}, "invalid or missing claim iss"),  # the embedded one
    ({"exp": int(time.time()) - 120}, "token expired"),
    ({"jti": None}, "invalid or missing claim jti"),
    ({"client_id": None}, "invalid or missing claim client_id"),
    ({"role": None}, "invalid or missing claim role"),
    ({"role": "sheriff"}, "unknown role"),
])
async def test_a_provider_token_with_a_wrong_claim_is_refused(
        provider: FakeProvider, verifier: Verifier, claims: dict[str, Any],
        problem: str) -> None:
    assert await refused(verifier(), provider.token(**claims)) == problem


async def test_a_token_signed_by_a_key_the_provider_does_not_publish_is_refused(
        provider: FakeProvider, verifier: Verifier) -> None:
    other = RSAKey.generate_key(2048, parameters={"kid": "idp-1"}, private=True)
    assert await refused(verifier(), provider.token(key=other)) == "invalid signature"
    unknown = RSAKey.generate_key(2048, parameters={"kid": "idp-9"}, private=True)
    assert await refused(verifier(), provider.token({"kid": "idp-9"}, key=unknown)) == \
        "unknown signing key"


async def test_the_embedded_issuers_tokens_are_not_accepted_beside_the_provider(
        provider: FakeProvider, verifier: Verifier, tmp_path: Any) -> None:
    from api.issuer import Issuer, SigningKeys

    embedded = Issuer(Settings(), SigningKeys.load_or_create(str(tmp_path / "key.pem")))
    token = embedded.issue(sub="clerk", role="registry_clerk", client_id="registry-cli")
    assert await refused(verifier(), token) == "unknown signing key"


@pytest.mark.parametrize("typ", ["JWT", "jwt", None])
async def test_a_jwt_typed_or_untyped_token_is_refused_unless_configured(
        provider: FakeProvider, verifier: Verifier, typ: str | None) -> None:
    header = {"typ": typ} if typ else {}
    token = provider.token(header) if typ else jwt.encode(
        {"alg": "RS256", "kid": "idp-1"}, provider_claims(), provider.key, algorithms=["RS256"])
    assert await refused(verifier(), token) == "not an access token (typ must be at+jwt)"
    assert (await verifier(oidc_accept_jwt_typ=True).verify(token)).sub == "officer-7"


@pytest.mark.parametrize("typ", ["id+jwt", "JOSE", "logout+jwt"])
async def test_other_types_are_refused_even_when_jwt_is_accepted(
        provider: FakeProvider, verifier: Verifier, typ: str) -> None:
    token = provider.token({"typ": typ})
    assert await refused(verifier(oidc_accept_jwt_typ=True), token) == \
        "not an access token (typ must be at+jwt)"


async def test_alg_none_and_hs256_stay_refused_though_the_provider_names_them(
        provider: FakeProvider, verifier: Verifier) -> None:
    checking = verifier(oidc_accept_jwt_typ=True)
    await checking.start()
    assert checking.provider is not None
    assert set(checking.provider.algorithms) <= set(ALLOWED_ALGORITHMS)
    header = {"typ": "at+jwt", "kid": "idp-1"}
    public_pem = provider.key.as_pem(private=False)
    for token in (unsigned({"alg": "none", **header}, provider_claims()),
                  sign_hs256({"alg": "HS256", **header}, provider_claims(), public_pem)):
        assert await refused(checking, token) == "unsupported signing algorithm"


@pytest.mark.parametrize("parameter", ["jku", "x5u"])
async def test_key_material_in_the_header_is_not_trusted_from_the_provider_either(
        provider: FakeProvider, verifier: Verifier, parameter: str) -> None:
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = sign_rs256({"alg": "RS256", "typ": "at+jwt", "kid": "idp-1",
                        parameter: "https://evil.example/jwks.json"}, provider_claims(), attacker)
    assert await refused(verifier(), token) == "key material in the token header is not accepted"


# --- Claim mapping --------------------------------------------------------------------------

KEYCLOAK = {"claim_role": "realm_access.roles", "claim_client_id": "azp",
            "claim_agency": "registry.agency", "oidc_accept_jwt_typ": True}


def keycloak_claims(**changes: Any) -> dict[str, Any]:
    claims = {"client_id": None, "role": None, "agency": None, "azp": "agency-portal",
              "realm_access": {"roles": ["offline_access", "police_officer",
                                         "uma_authorization"]},
              "registry": {"agency": "POLICE-110101"}}
    claims.update(changes)
    return claims


async def test_mapped_claims_from_dotted_paths_and_a_role_list_make_the_principal(
        provider: FakeProvider, verifier: Verifier) -> None:
    principal = await verifier(**KEYCLOAK).verify(provider.token({"typ": "JWT"},
                                                                 **keycloak_claims()))
    assert (principal.sub, principal.role, principal.agency, principal.client_id) == (
        "officer-7", "police_officer", "POLICE-110101", "agency-portal")


async def test_a_claim_named_with_dots_is_found_before_the_path(
        provider: FakeProvider, verifier: Verifier) -> None:
    checking = verifier(claim_role="https://registry.example/role")
    token = provider.token(**{"role": None, "https://registry.example/role": "judge"})
    assert (await checking.verify(token)).role == "judge"


@pytest.mark.parametrize(("claims", "problem"), [
    ({"azp": None}, "invalid or missing claim azp"),
    ({"azp": ["agency-portal"]}, "invalid or missing claim azp"),
    ({"realm_access": None}, "invalid or missing claim realm_access.roles"),
    ({"realm_access": {"roles": []}}, "invalid or missing claim realm_access.roles"),
    ({"realm_access": {"roles": ["offline_access"]}}, "no registry role in claim "
                                                      "realm_access.roles"),
    ({"realm_access": {"roles": ["police_officer", "judge"]}},
     "more than one registry role in claim realm_access.roles"),
    ({"realm_access": {"roles": "sheriff"}}, "unknown role"),
    ({"realm_access": {"roles": {"judge": True}}}, "invalid claim realm_access.roles"),
    ({"registry": {"agency": ["POLICE-110101"]}}, "invalid claim registry.agency"),
])
async def test_a_missing_or_unusable_mapped_claim_is_refused_naming_it(
        provider: FakeProvider, verifier: Verifier, claims: dict[str, Any],
        problem: str) -> None:
    token = provider.token({"typ": "JWT"}, **keycloak_claims(**claims))
    assert await refused(verifier(**KEYCLOAK), token) == problem


async def test_our_own_claim_names_do_not_count_once_they_are_mapped_elsewhere(
        provider: FakeProvider, verifier: Verifier) -> None:
    token = provider.token({"typ": "JWT"}, **keycloak_claims(
        role="security_admin", client_id="registry-cli", agency="COURT-110101",
        realm_access={"roles": ["offline_access"]}))
    assert await refused(verifier(**KEYCLOAK), token) == \
        "no registry role in claim realm_access.roles"
    principal = await verifier(**KEYCLOAK).verify(provider.token(
        {"typ": "JWT"}, **keycloak_claims(role="security_admin", client_id="registry-cli",
                                          agency="COURT-110101")))
    assert (principal.role, principal.client_id, principal.agency) == (
        "police_officer", "agency-portal", "POLICE-110101")


async def test_a_mapped_agency_or_id_number_may_be_absent(
        provider: FakeProvider, verifier: Verifier) -> None:
    token = provider.token({"typ": "JWT"}, **keycloak_claims(registry=None))
    assert (await verifier(**KEYCLOAK).verify(token)).agency is None


async def test_the_role_map_translates_and_only_its_values_count(
        provider: FakeProvider, verifier: Verifier) -> None:
    checking = verifier(**KEYCLOAK, role_map="Registry.Police:police_officer, judges:judge")
    translated = provider.token({"typ": "JWT"}, **keycloak_claims(
        realm_access={"roles": ["offline_access", "judges"]}))
    assert (await checking.verify(translated)).role == "judge"
    untranslated = provider.token({"typ": "JWT"}, **keycloak_claims(
        realm_access={"roles": ["security_admin"]}))
    assert await refused(checking, untranslated) == "no registry role in claim realm_access.roles"
    both = provider.token({"typ": "JWT"}, **keycloak_claims(
        realm_access={"roles": ["Registry.Police", "judges"]}))
    assert await refused(checking, both) == \
        "more than one registry role in claim realm_access.roles"


async def test_a_string_role_outside_the_role_map_is_refused(
        provider: FakeProvider, verifier: Verifier) -> None:
    checking = verifier(role_map="judges:judge")
    assert await refused(checking, provider.token(role="police_officer")) == "unknown role"
    assert (await checking.verify(provider.token(role="judges"))).role == "judge"


async def test_refusals_of_mapped_claims_say_nothing_of_the_values(
        provider: FakeProvider, verifier: Verifier) -> None:
    """The description names the provider's claim, never the value the token held."""
    token = provider.token({"typ": "JWT"}, **keycloak_claims(
        realm_access={"roles": "secret-group-of-agent-x"}))
    assert await refused(verifier(**KEYCLOAK), token) == "unknown role"
