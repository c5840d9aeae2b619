"""The verifier against an external identity provider's JWKS (REGISTRY_JWKS_URL)."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from api.auth import InvalidToken, TokenVerifier
from api.issuer import Issuer, SigningKeys
from api.settings import Settings
from tests.security.forge import good_claims, sign_hs256

JWKS_URL = "https://idp.example/.well-known/jwks.json"


def remote(tmp_path: Path, jwks: dict[str, object]) -> tuple[TokenVerifier, list[str]]:
    fetched: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        return httpx.Response(200, json=jwks)

    settings = Settings(jwks_url=JWKS_URL)
    verifier = TokenVerifier(settings, None, http_transport=httpx.MockTransport(handler))
    return verifier, fetched


@pytest.fixture
def idp(tmp_path: Path) -> Issuer:
    return Issuer(Settings(), SigningKeys.load_or_create(str(tmp_path / "idp.pem")))


async def test_token_from_the_external_provider_verifies_with_one_fetch(
    tmp_path: Path, idp: Issuer
) -> None:
    verifier, fetched = remote(tmp_path, idp.jwks())
    for _ in range(3):
        token = idp.issue(sub="officer", role="police_officer", client_id="idp-portal")
        assert (await verifier.verify(token)).sub == "officer"
    assert fetched == [JWKS_URL]


async def test_unknown_kid_refetches_at_most_once_a_minute(tmp_path: Path, idp: Issuer) -> None:
    verifier, fetched = remote(tmp_path, idp.jwks())
    other = Issuer(Settings(), SigningKeys.load_or_create(str(tmp_path / "other.pem")))
    await verifier.verify(idp.issue(sub="a", role="judge", client_id="c"))
    for _ in range(5):
        with pytest.raises(InvalidToken, match="unknown signing key"):
            await verifier.verify(other.issue(sub="a", role="judge", client_id="c"))
    assert len(fetched) == 1


async def test_symmetric_keys_in_the_provider_jwks_are_ignored(
    tmp_path: Path, idp: Issuer
) -> None:
    secret = b"shared-secret-shared-secret-1234"
    oct_key = {"kty": "oct", "kid": "hmac", "k": base64.urlsafe_b64encode(secret).decode()}
    verifier, _ = remote(tmp_path, {"keys": [oct_key, *idp.jwks()["keys"]]})
    token = sign_hs256({"alg": "HS256", "typ": "at+jwt", "kid": "hmac"},
                       good_claims(Settings()), secret)
    with pytest.raises(InvalidToken):
        await verifier.verify(token)
