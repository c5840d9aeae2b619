"""OAuth2 clients and the token endpoint, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette

from api.auth import TokenVerifier
from api.clients import authenticate_client, cli_create_client, create_client
from api.issuer import Issuer, SigningKeys, issuer_routes
from api.settings import Settings
from db.engine import Database
from db.models.agencies import Agency
from db.models.clients import Client

AGENCY = "PSB-110101"


@pytest.fixture
async def agency(database: Database) -> str:
    async with database.session() as session:
        session.add(Agency(code=AGENCY, kind="PUBLIC_SECURITY", name="Dongcheng PSB",
                           region="110101"))
        await session.commit()
    return AGENCY


@pytest.fixture
async def credentials(database: Database, agency: str) -> tuple[str, str]:
    async with database.session() as session:
        created = await create_client(session, name="Case system", role="police_officer",
                                      agency_code=agency, scopes="records:read")
        await session.commit()
    return created


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    path = tmp_path_factory.mktemp("keys") / "k.pem"
    settings = Settings(signing_key_file=str(path))
    return Issuer(settings, SigningKeys.load_or_create(str(path)))


@pytest.fixture
async def http(issuer: Issuer, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=issuer_routes(issuer, database))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def basic(client_id: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


async def test_created_client_secret_is_never_stored_in_clear(
    database: Database, credentials: tuple[str, str]
) -> None:
    client_id, secret = credentials
    async with database.session() as session:
        row = (await session.execute(
            select(Client).where(Client.client_id == client_id))).scalar_one()
    assert secret not in row.secret_hash
    assert row.secret_hash.startswith("scrypt$")
    assert (row.role, row.agency_code, row.scopes) == ("police_officer", AGENCY, "records:read")
    assert row.active


async def test_client_authenticates_with_its_secret_only(
    database: Database, credentials: tuple[str, str]
) -> None:
    client_id, secret = credentials
    async with database.session() as session:
        row = await authenticate_client(session, client_id, secret)
        assert row is not None and row.client_id == client_id
        assert await authenticate_client(session, client_id, secret + "x") is None
        assert await authenticate_client(session, "client-unknown", secret) is None


async def test_inactive_client_fails_to_authenticate(
    database: Database, credentials: tuple[str, str]
) -> None:
    client_id, secret = credentials
    async with database.session() as session:
        await session.execute(update(Client).where(Client.client_id == client_id)
                              .values(active=False))
        await session.commit()
        assert await authenticate_client(session, client_id, secret) is None


async def test_client_with_an_unknown_role_or_agency_is_refused(database: Database) -> None:
    async with database.session() as session:
        with pytest.raises(ValueError, match="--role"):
            await create_client(session, name="x", role="root")
        with pytest.raises(ValueError, match="--agency"):
            await create_client(session, name="x", role="employer", agency_code="NOPE")


def test_cli_creates_a_client_that_is_committed(database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url)
    client_id, secret = cli_create_client(settings, "Employer portal", "employer", None)
    assert client_id and len(secret) >= 43

    async def check() -> Client | None:
        database = Database(database_url)
        try:
            async with database.session() as session:
                return await authenticate_client(session, client_id, secret)
        finally:
            await database.dispose()

    row = asyncio.run(check())
    assert row is not None and row.role == "employer"


async def test_token_endpoint_with_basic_auth_returns_a_verifiable_token(
    http: httpx.AsyncClient, issuer: Issuer, credentials: tuple[str, str]
) -> None:
    client_id, secret = credentials
    response = await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                               headers=basic(client_id, secret))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == issuer.settings.token_ttl_seconds
    assert body["scope"] == "records:read"
    assert "refresh_token" not in body
    principal = await TokenVerifier(issuer.settings, issuer).verify(body["access_token"])
    assert principal.sub == client_id
    assert principal.client_id == client_id
    assert principal.role == "police_officer"
    assert principal.agency == AGENCY
    assert principal.scopes == frozenset({"records:read"})


async def test_token_endpoint_with_post_auth_returns_a_verifiable_token(
    http: httpx.AsyncClient, issuer: Issuer, credentials: tuple[str, str]
) -> None:
    client_id, secret = credentials
    response = await http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    assert response.status_code == 200, response.text
    principal = await TokenVerifier(issuer.settings, issuer).verify(
        response.json()["access_token"])
    assert (principal.sub, principal.role) == (client_id, "police_officer")


async def test_token_endpoint_refuses_a_wrong_secret_as_invalid_client(
    http: httpx.AsyncClient, credentials: tuple[str, str]
) -> None:
    client_id, secret = credentials
    for headers, data in (
        (basic(client_id, "wrong"), {"grant_type": "client_credentials"}),
        ({}, {"grant_type": "client_credentials", "client_id": client_id,
              "client_secret": "wrong"}),
        (basic("client-unknown", secret), {"grant_type": "client_credentials"}),
    ):
        response = await http.post("/oauth/token", data=data, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["www-authenticate"].startswith("Basic")
        assert "access_token" not in response.text


async def test_token_endpoint_refuses_an_inactive_client(
    http: httpx.AsyncClient, database: Database, credentials: tuple[str, str]
) -> None:
    client_id, secret = credentials
    async with database.session() as session:
        await session.execute(update(Client).where(Client.client_id == client_id)
                              .values(active=False))
        await session.commit()
    response = await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                               headers=basic(client_id, secret))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_token_endpoint_supports_no_password_grant_and_no_unknown_grant(
    http: httpx.AsyncClient, credentials: tuple[str, str]
) -> None:
    client_id, secret = credentials
    for grant in ("password", "implicit", "urn:x"):
        response = await http.post("/oauth/token", data={"grant_type": grant},
                                   headers=basic(client_id, secret))
        assert response.status_code == 400
        assert response.json()["error"] == "unsupported_grant_type"


async def test_a_client_without_redirect_uris_gets_no_code_or_refresh_grant(
    http: httpx.AsyncClient, credentials: tuple[str, str]
) -> None:
    client_id, secret = credentials
    for grant in ("authorization_code", "refresh_token"):
        response = await http.post("/oauth/token", data={"grant_type": grant},
                                   headers=basic(client_id, secret))
        assert response.status_code == 400
        assert response.json()["error"] == "unauthorized_client"


async def test_token_endpoint_refuses_a_scope_the_client_does_not_hold(
    http: httpx.AsyncClient, credentials: tuple[str, str]
) -> None:
    client_id, secret = credentials
    response = await http.post(
        "/oauth/token", data={"grant_type": "client_credentials", "scope": "policy:write"},
        headers=basic(client_id, secret))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_token_endpoint_refuses_malformed_requests_as_invalid_request(
    http: httpx.AsyncClient, credentials: tuple[str, str]
) -> None:
    client_id, secret = credentials
    auth = basic(client_id, secret)
    cases = [
        await http.post("/oauth/token", data={}, headers=auth),
        await http.post("/oauth/token", json={"grant_type": "client_credentials"}, headers=auth),
        await http.post("/oauth/token", headers={**auth, "Content-Type":
                        "application/x-www-form-urlencoded"},
                        content=b"grant_type=client_credentials&grant_type=password"),
        await http.post("/oauth/token", data={"grant_type": "client_credentials",
                        "client_id": client_id, "client_secret": secret}, headers=auth),
    ]
    for response in cases:
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"


async def test_token_endpoint_only_accepts_post(http: httpx.AsyncClient) -> None:
    response = await http.get("/oauth/token", params={"grant_type": "client_credentials"})
    assert response.status_code == 405


async def test_well_known_documents_are_served(http: httpx.AsyncClient, issuer: Issuer) -> None:
    jwks = (await http.get("/.well-known/jwks.json")).json()
    assert jwks == issuer.jwks()
    metadata = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["token_endpoint"] == issuer.settings.issuer + "/oauth/token"


@pytest.mark.parametrize("uri", [
    "https://firm.example/callback", "https://firm.example:8443/cb?tenant=7",
    "http://127.0.0.1:9000/cb", "http://localhost/cb", "http://[::1]:8080/cb",
    "com.example.app:/signed-in"])
def test_a_redirect_uri_may_be_https_loopback_http_or_a_private_use_scheme(uri: str) -> None:
    from api.clients import require_redirect_uri

    assert require_redirect_uri(uri) == uri


@pytest.mark.parametrize("uri", [
    "http://firm.example/cb", "https://firm.example/cb#top", "/relative", "", " https://a.b/",
    "https://", "javascript:alert(1)", "data:text/html,x", "file:///etc/passwd",
    "https://firm.example/c b"])
def test_any_other_redirect_uri_is_refused_naming_the_flag(uri: str) -> None:
    from api.clients import require_redirect_uri

    with pytest.raises(ValueError, match="--redirect-uri"):
        require_redirect_uri(uri)
