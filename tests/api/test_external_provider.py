"""An external OpenID provider end to end: a second registry, served on a local port, is the
provider (its embedded issuer and client-credentials grant); the registry under test, set
with REGISTRY_OIDC_ISSUER, discovers it over HTTP at start-up and accepts its tokens, and no
other. No outside network: both are on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.clients import create_client
from api.issuer import Issuer, SigningKeys
from api.oidc import ProviderError
from api.settings import Settings
from db.engine import Database
from tests.api.conftest import prepare
from tests.live import bound_socket, live_server

ME = "{ me { sub role agency { code } } }"


@dataclass
class Provider:
    issuer: str
    settings: Settings
    client_id: str
    client_secret: str

    async def token(self) -> str:
        """A token by the client-credentials grant, from the provider's /oauth/token."""
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        async with httpx.AsyncClient() as http:
            response = await http.post(f"{self.issuer}/oauth/token",
                                       data={"grant_type": "client_credentials"},
                                       headers={"Authorization": f"Basic {basic}"})
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


@pytest.fixture
async def provider(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Provider]:
    """A registry of its own (its own SQLite file and signing key) serving on 127.0.0.1, with
    one client of the client-credentials grant: a judge of COURT-110101."""
    database_url = f"sqlite:///{tmp_path / 'provider.db'}"
    shutil.copyfile(request.getfixturevalue("_sqlite_template"), tmp_path / "provider.db")
    await prepare(database_url)
    database = Database(database_url)
    try:
        async with database.session() as session:
            client_id, secret = await create_client(session, name="Court portal", role="judge",
                                                    agency_code="COURT-110101")
            await session.commit()
    finally:
        await database.dispose()
    sock = bound_socket()
    issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
    (tmp_path / "provider").mkdir()
    settings = Settings(database_url=database_url, issuer=issuer,
                        signing_key_file=str(tmp_path / "provider" / "signing-key.pem"))
    app = create_app(settings)
    try:
        async with live_server(app, sock):
            yield Provider(issuer=issuer, settings=settings, client_id=client_id,
                           client_secret=secret)
    finally:
        await app.state.registry.close()


@pytest.fixture
def registry_settings(database_url: str, tmp_path: Path, provider: Provider) -> Settings:
    (tmp_path / "registry").mkdir()
    return Settings(database_url=database_url, oidc_issuer=provider.issuer,
                    signing_key_file=str(tmp_path / "registry" / "signing-key.pem"))


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The registry under test, started as `registry serve` starts it (its lifespan: the
    provider's discovery and keys are fetched then), and a client of it."""
    await prepare(settings.database_url)
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://registry.test") as http:
            yield http
    finally:
        await app.state.registry.close()


async def me(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post("/graphql", json={"query": ME},
                           headers={"Authorization": f"Bearer {token}"})


def data(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return dict(body["data"]["me"])


async def test_a_token_of_the_provider_is_accepted_and_one_signed_by_a_third_key_refused(
        provider: Provider, registry_settings: Settings, tmp_path: Path) -> None:
    async with started(registry_settings) as http:
        token = await provider.token()
        assert data(await me(http, token)) == {
            "sub": provider.client_id, "role": "judge", "agency": {"code": "COURT-110101"}}

        # The provider's issuer and audience, a key the provider never published.
        third = Issuer(provider.settings,
                       SigningKeys.load_or_create(str(tmp_path / "third-key.pem")))
        forged = third.issue(sub=provider.client_id, role="judge", client_id=provider.client_id,
                             agency="COURT-110101")
        refused = await me(http, forged)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == (
            'Bearer error="invalid_token", error_description="unknown signing key"')
        assert "data" not in refused.json()


async def test_the_embedded_issuer_is_off_beside_the_provider(
        provider: Provider, registry_settings: Settings, tmp_path: Path) -> None:
    async with started(registry_settings) as http:
        for path in ("/oauth/token", "/.well-known/jwks.json",
                     "/.well-known/oauth-authorization-server"):
            response = await http.request("POST" if path == "/oauth/token" else "GET", path)
            assert response.status_code == 404, path
        # A token as the registry's own issuer would mint it (its default issuer, a key file
        # of its own) is no token here.
        own = Issuer(Settings(), SigningKeys.load_or_create(str(tmp_path / "own-key.pem")))
        refused = await me(http, own.issue(sub="clerk", role="registry_clerk",
                                           client_id="registry-cli"))
        assert refused.status_code == 401
    assert not await asyncio.to_thread(Path(registry_settings.signing_key_file).exists)


async def test_a_claim_mapping_applies_to_the_providers_tokens(
        provider: Provider, registry_settings: Settings) -> None:
    mapped = registry_settings.with_(claim_client_id="sub",
                                     role_map="judge:judicial_admin_officer")
    async with started(mapped) as http:
        assert data(await me(http, await provider.token()))["role"] == "judicial_admin_officer"


async def test_a_provider_naming_another_issuer_stops_start_up(
        provider: Provider, registry_settings: Settings) -> None:
    """Mix-up defence: the provider's discovery says `http://127.0.0.1:PORT`; the registry
    was told `http://localhost:PORT`, the same server under another name."""
    elsewhere = provider.issuer.replace("127.0.0.1", "localhost")
    app = create_app(registry_settings.with_(oidc_issuer=elsewhere))
    try:
        with pytest.raises(ProviderError, match="names the issuer"):
            async with app.router.lifespan_context(app):
                pass
    finally:
        await app.state.registry.close()


async def test_an_unreachable_provider_stops_start_up(
        provider: Provider, registry_settings: Settings) -> None:
    sock = bound_socket()  # bound, never listening: connections are refused
    try:
        nobody = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app = create_app(registry_settings.with_(oidc_issuer=nobody))
        try:
            with pytest.raises(ProviderError, match="REGISTRY_OIDC_ISSUER: .* could not be "
                                                    "fetched"):
                async with app.router.lifespan_context(app):
                    pass
        finally:
            await app.state.registry.close()
    finally:
        sock.close()
