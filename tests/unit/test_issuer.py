from __future__ import annotations

import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from joserfc.jwk import ECKey
from joserfc.jws import extract_compact

from api.auth import TokenVerifier
from api.issuer import Issuer, SigningKeys, cli_issue_token
from api.settings import Settings

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def test_signing_key_is_created_on_first_use_readable_only_by_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "signing-key.pem"
    keys = SigningKeys.load_or_create(str(path))
    assert path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert keys.kid == keys.private_key.thumbprint()
    assert [p.name for p in path.parent.iterdir()] == ["signing-key.pem"]


def test_signing_key_is_reused_the_second_time(tmp_path: Path) -> None:
    path = tmp_path / "signing-key.pem"
    first = SigningKeys.load_or_create(str(path))
    content = path.read_bytes()
    second = SigningKeys.load_or_create(str(path))
    assert second.kid == first.kid
    assert path.read_bytes() == content


def test_processes_starting_at_once_all_use_the_key_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "signing-key.pem"
    with ThreadPoolExecutor(max_workers=8) as pool:
        kids = set(pool.map(lambda _: SigningKeys.load_or_create(str(path)).kid, range(8)))
    assert kids == {SigningKeys.load_or_create(str(path)).kid}
    assert [p.name for p in tmp_path.iterdir()] == ["signing-key.pem"]


def test_an_ec_p256_key_file_signs_es256_tokens(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    path.write_bytes(ECKey.generate_key("P-256", private=True).as_pem(private=True))
    keys = SigningKeys.load_or_create(str(path))
    assert keys.alg == "ES256"
    assert Issuer(Settings(), keys).jwks()["keys"][0]["kty"] == "EC"


async def test_es256_tokens_verify(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    path.write_bytes(ECKey.generate_key("P-256", private=True).as_pem(private=True))
    settings = Settings(signing_key_file=str(path))
    issuer = Issuer(settings, SigningKeys.load_or_create(str(path)))
    token = issuer.issue(sub="s", role="auditor", client_id="c")
    assert (await TokenVerifier(settings, issuer).verify(token)).role == "auditor"


def test_a_file_that_is_not_a_private_key_is_refused_naming_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "junk.pem"
    path.write_text("not a key")
    with pytest.raises(ValueError, match="REGISTRY_SIGNING_KEY_FILE"):
        SigningKeys.load_or_create(str(path))


def test_jwks_publishes_only_the_public_key(tmp_path: Path) -> None:
    keys = SigningKeys.load_or_create(str(tmp_path / "k.pem"))
    jwks = Issuer(Settings(), keys).jwks()
    [key] = jwks["keys"]
    assert not PRIVATE_MEMBERS & key.keys()
    assert key["kid"] == keys.kid
    assert key["alg"] == "RS256"
    assert key["use"] == "sig"
    assert key["kty"] == "RSA"


def test_metadata_describes_the_embedded_issuer(tmp_path: Path) -> None:
    settings = Settings(issuer="https://registry.example")
    metadata = Issuer(settings, SigningKeys.load_or_create(str(tmp_path / "k.pem"))).metadata()
    assert metadata["issuer"] == "https://registry.example"
    assert metadata["token_endpoint"] == "https://registry.example/oauth/token"
    assert metadata["jwks_uri"] == "https://registry.example/.well-known/jwks.json"
    assert metadata["authorization_endpoint"] == "https://registry.example/oauth/authorize"
    assert metadata["grant_types_supported"] == [
        "client_credentials", "authorization_code", "refresh_token"]
    assert metadata["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "client_secret_post", "none"]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]


def test_issued_token_is_an_rfc_9068_access_token(tmp_path: Path) -> None:
    settings = Settings(token_ttl_seconds=600)
    issuer = Issuer(settings, SigningKeys.load_or_create(str(tmp_path / "k.pem")))
    token = issuer.issue(sub="u1", role="prosecutor", client_id="cli", agency="PROC-1",
                         scopes="a b")
    parsed = extract_compact(token.encode())
    assert parsed.headers() == {"typ": "at+jwt", "alg": "RS256", "kid": issuer.keys.kid}
    claims = json.loads(parsed.payload)
    assert claims["iss"] == settings.issuer
    assert claims["aud"] == settings.audience
    assert claims["exp"] - claims["iat"] == 600
    assert (claims["sub"], claims["client_id"], claims["role"]) == ("u1", "cli", "prosecutor")
    assert claims["agency"] == "PROC-1"
    assert claims["scope"] == "a b"
    assert "id_number" not in claims
    other = json.loads(extract_compact(
        issuer.issue(sub="u1", role="judge", client_id="cli").encode()).payload)
    assert other["jti"] != claims["jti"]


async def test_cli_issues_a_token_with_the_requested_ttl(tmp_path: Path) -> None:
    settings = Settings(signing_key_file=str(tmp_path / "var" / "k.pem"))
    token = cli_issue_token(settings, "p-1", "individual", None, "110101199001011234", 60)
    claims = json.loads(extract_compact(token.encode()).payload)
    assert claims["exp"] - claims["iat"] == 60
    issuer = Issuer(settings, SigningKeys.load_or_create(settings.signing_key_file))
    principal = await TokenVerifier(settings, issuer).verify(token)
    assert principal.id_number == "110101199001011234"


def test_cli_refuses_an_unknown_role_naming_the_option(tmp_path: Path) -> None:
    settings = Settings(signing_key_file=str(tmp_path / "k.pem"))
    with pytest.raises(ValueError, match="--role"):
        cli_issue_token(settings, "x", "superuser", None, None, None)
    assert not (tmp_path / "k.pem").exists()
