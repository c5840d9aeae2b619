"""Every attack on the bearer token, against `TokenVerifier.verify` and through HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import ECKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from api.auth import ANONYMOUS, BearerAuthMiddleware, InvalidToken, Principal, TokenVerifier
from api.issuer import Issuer, SigningKeys
from api.settings import Settings
from tests.security.forge import good_claims, sign_hs256, sign_rs256, unsigned

INVALID_TOKEN = 'Bearer error="invalid_token"'


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    path: Path = tmp_path_factory.mktemp("keys") / "signing-key.pem"
    return Settings(signing_key_file=str(path))


@pytest.fixture(scope="module")
def issuer(settings: Settings) -> Issuer:
    return Issuer(settings, SigningKeys.load_or_create(settings.signing_key_file))


@pytest.fixture
def verifier(settings: Settings, issuer: Issuer) -> TokenVerifier:
    return TokenVerifier(settings, issuer)


@pytest.fixture
async def client(verifier: TokenVerifier) -> AsyncIterator[httpx.AsyncClient]:
    async def echo(request: Request) -> Response:
        principal: Principal = request.state.principal
        return PlainTextResponse(principal.sub)

    routes = [Route("/graphql", echo, methods=["GET", "POST"]), Route("/healthz", echo)]
    app = BearerAuthMiddleware(Starlette(routes=routes), verifier)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def header(issuer: Issuer, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"alg": "RS256", "typ": "at+jwt", "kid": issuer.keys.kid}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def ours(issuer: Issuer) -> rsa.RSAPrivateKey:
    key = issuer.keys.private_key.private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def signed(issuer: Issuer, settings: Settings, hdr: dict[str, Any] | None = None,
           **claims: Any) -> str:
    return sign_rs256(hdr or header(issuer), good_claims(settings, **claims), ours(issuer))


async def assert_rejected(token: str, verifier: TokenVerifier, client: httpx.AsyncClient,
                          challenge: str = INVALID_TOKEN, reason: str | None = None) -> None:
    with pytest.raises(InvalidToken) as refused:
        await verifier.verify(token)
    assert token not in refused.value.description
    if reason is not None:
        assert reason in refused.value.description
    response = await client.post("/graphql", json={"query": "{ me { sub } }"},
                                 headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith(challenge)
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "data" not in body
    assert token not in response.text


async def test_token_from_the_issuer_yields_its_principal(
    issuer: Issuer, verifier: TokenVerifier, client: httpx.AsyncClient
) -> None:
    token = issuer.issue(sub="lawyer-7", role="defense_lawyer", client_id="portal",
                         agency="LAW-1", scopes="records:read  inquiries")
    principal = await verifier.verify(token)
    assert principal.sub == "lawyer-7"
    assert principal.role == "defense_lawyer"
    assert principal.agency == "LAW-1"
    assert principal.id_number is None
    assert principal.scopes == frozenset({"records:read", "inquiries"})
    assert principal.client_id == "portal"
    assert principal.token_id
    assert principal.authenticated
    response = await client.post("/graphql", json={},
                                 headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200
    assert response.text == "lawyer-7"


async def test_individual_token_carries_the_identity_number(
    issuer: Issuer, verifier: TokenVerifier
) -> None:
    token = issuer.issue(sub="p-1", role="individual", client_id="portal",
                         id_number="110101199001011234")
    assert (await verifier.verify(token)).id_number == "110101199001011234"


async def test_token_with_alg_none_is_rejected(
    issuer: Issuer, settings: Settings, verifier: TokenVerifier, client: httpx.AsyncClient
) -> None:
    token = unsigned(header(issuer, alg="none"), good_claims(settings))
    await assert_rejected(token, verifier, client, reason="algorithm")


async def test_token_signed_with_hs256_using_the_public_key_is_rejected(
    issuer: Issuer, settings: Settings, verifier: TokenVerifier, client: httpx.AsyncClient
) -> None:
    public_pem = ours(issuer).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    token = sign_hs256(header(issuer, alg="HS256"), good_claims(settings), public_pem)
    await assert_rejected(token, verifier, client, reason="algorithm")


async def test_token_for_another_audience_is_rejected(
    issuer: Issuer, settings: Settings, verifier: TokenVerifier, client: httpx.AsyncClient
) -> None:
    await assert_rejected(signed(issuer, settings, aud="another-api"), verifier, client,
                          reason="aud")
    await assert_rejected(signed(issuer, settings, aud=["another-api"]), verifier, client)


async def test_token_listing_our_audience_among_others_is_accepted(
    issuer: Issuer, settings: Settings, verifier: TokenVerifier
) -> None:
    token = signed(issuer, settings, aud=["another-api", settings.audience])
    assert (await verifier.verify(token)).sub == "judge-1"


async def test_token_from_another_issuer_is_rejected(
    issuer: Issuer, settings: Settings, verifier: TokenVerifier, client: httpx.AsyncClient
) -> None:
    token = signed(issuer, settings, iss="https://evil.example")
    await assert_rejected(token, verifier, client, reason="iss")


@pytest.mark.parametrize("typ", ["JWT", "jwt", "", None, "at+jwt2"])
async def test_token_without_the_access_token_type_is_rejected(
    typ: str | None, issuer: Issuer, settings: Settings, verifier: TokenVerifier,
    client: httpx.AsyncClient,
) -> None:
    hdr = header(issuer)
    hdr.pop("typ")
    if typ is not None:
        hdr["typ"] = typ
    await assert_rejected(signed(issuer, settings, hdr), verifier, client, reason="typ")


async def test_token_typed_application_at_jwt_in_any_case_is_accepted(
    issuer: Issuer, settings: Settings, verifier: TokenVerifier
) -> None:
    for typ in ("application/at+jwt", "AT+JWT"):
        token = signed(issuer, settings, header(issuer, typ=typ))
        assert (await verifier.verify(token)).authenticated


async def test_expired_token_is_rejected(
    issuer: Issuer, settings: Settings, verifier: TokenVerifier, client: httpx.AsyncClient
) -> None:
    now = int(time.time())
    token = signed(issuer, settings, iat=now - 1000, exp=now - 120)
    await assert_rejected(token, verifier, client, reason="expired")


async def test_token_issued_in_the_future_is_rejected(
    issuer: Issuer, settings: Settings, verifier: TokenVerifier, client: httpx.AsyncClient
) -> None:
    now = int(time.time())
    token = signed(issuer, settings, iat=now + 600, exp=now + 900)
    await assert_rejected(token, verifier, client, reason="iat")


@pytest.mark.parametrize("claim", ["jti", "sub", "client_id", "iat", "exp", "iss", "aud", "role"])
async def test_token_missing_a_required_claim_is_rejected(
    claim: str, issuer: Issuer, settings: Settings, verifier: TokenVerifier,
    client: httpx.AsyncClient,
) -> None:
    claims = good_claims(settings)
    del claims[claim]
    token = sign_rs256(header(issuer), claims, ours(issuer))
    await assert_rejected(token, verifier, client, reason=claim)


async def test_token_with_an_unknown_role_is_rejected(
    issuer: Issuer, settings: Settings, verifier: TokenVerifier, client: httpx.AsyncClient
) -> None:
    await assert_rejected(signed(issuer, settings, role="superuser"), verifier, client,
                          reason="role")


async def test_token_with_an_expiry_that_is_not_a_number_is_rejected(
    issuer: Issuer, settings: Settings, verifier: TokenVerifier, client: httpx.AsyncClient
) -> None:
    await assert_rejected(signed(issuer, settings, exp="never"), verifier, client)


async def test_token_carrying_its_own_key_in_the_header_is_rejected(
    issuer: Issuer, settings: Settings, verifier: TokenVerifier, client: httpx.AsyncClient
) -> None:
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAKey.import_key(attacker.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo,
    )).as_dict()
    token = sign_rs256(header(issuer, kid=None, jwk=jwk), good_claims(settings), attacker)
    await assert_rejected(token, verifier, client)
    # Even signed with our key, a header that carries key material is refused.
    small = ECKey.generate_key("P-256").as_dict(private=False)
    await assert_rejected(signed(issuer, settings, header(issuer, jwk=small)), verifier, client,
                          reason="key material")


@pytest.mark.parametrize("parameter", ["jku", "x5u"])
async def test_token_pointing_to_a_key_url_is_rejected(
    parameter: str, issuer: Issuer, settings: Settings, verifier: TokenVerifier,
    client: httpx.AsyncClient,
) -> None:
    hdr = header(issuer, **{parameter: "https://evil.example/jwks.json"})
    await assert_rejected(signed(issuer, settings, hdr), verifier, client, reason="key material")


async def test_token_with_an_x5c_chain_is_rejected(
    issuer: Issuer, settings: Settings, verifier: TokenVerifier, client: httpx.AsyncClient
) -> None:
    hdr = header(issuer, x5c=["MIIB"])
    await assert_rejected(signed(issuer, settings, hdr), verifier, client)


async def test_token_signed_by_another_rsa_key_with_our_kid_is_rejected(
    issuer: Issuer, settings: Settings, verifier: TokenVerifier, client: httpx.AsyncClient
) -> None:
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = sign_rs256(header(issuer), good_claims(settings), attacker)
    await assert_rejected(token, verifier, client, reason="signature")


async def test_token_with_an_unknown_kid_or_none_is_rejected(
    issuer: Issuer, settings: Settings, verifier: TokenVerifier, client: httpx.AsyncClient
) -> None:
    await assert_rejected(signed(issuer, settings, header(issuer, kid="other")), verifier, client)
    await assert_rejected(signed(issuer, settings, header(issuer, kid=None)), verifier, client)


async def test_token_with_a_tampered_payload_is_rejected(
    issuer: Issuer, verifier: TokenVerifier, client: httpx.AsyncClient
) -> None:
    token = issuer.issue(sub="clerk", role="registry_clerk", client_id="portal")
    head, _, signature = token.split(".")
    other = issuer.issue(sub="admin", role="security_admin", client_id="portal").split(".")[1]
    await assert_rejected(f"{head}.{other}.{signature}", verifier, client, reason="signature")


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "a.b", "eyJ.eyJ.", "x" * 9000])
async def test_garbage_token_is_rejected(
    garbage: str, verifier: TokenVerifier, client: httpx.AsyncClient
) -> None:
    await assert_rejected(garbage, verifier, client)


async def test_token_in_the_url_is_refused_even_when_valid(
    issuer: Issuer, client: httpx.AsyncClient
) -> None:
    token = issuer.issue(sub="judge-1", role="judge", client_id="portal")
    for method in ("GET", "POST"):
        response = await client.request(method, "/graphql", params={"access_token": token},
                                        headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == (
            'Bearer error="invalid_request", error_description="token in URL"')
        assert token not in response.text


async def test_post_without_authorization_gets_a_bare_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/graphql", json={"query": "{ me { sub } }"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="registry"'
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_basic_credentials_are_not_a_bearer_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={},
                                 headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="registry"'


async def test_bearer_scheme_without_a_token_is_an_invalid_token(
    client: httpx.AsyncClient,
) -> None:
    for value in ("Bearer", "Bearer ", "Bearer a b"):
        response = await client.post("/graphql", json={}, headers={"Authorization": value})
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith(INVALID_TOKEN)


async def test_get_without_authorization_passes_as_anonymous(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql")
    assert response.status_code == 200
    assert response.text == ANONYMOUS.sub


async def test_get_with_a_bad_token_is_still_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith(INVALID_TOKEN)


async def test_unprotected_path_gets_the_anonymous_principal(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 200
    assert response.text == "anonymous"
