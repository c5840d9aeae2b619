"""Issue 10, item 8: tokens outlive their clients.

The attacks tried here: a token obtained by a client keeps working after the client is
disabled or deleted, or after its secret was rotated because it leaked; enabling the client
again would bring its old tokens back; the old secret still gets tokens after a rotation; a
token that lives 3,000 years (`registry token issue --ttl 99999999999`, or `exp = 10^20`
signed with the registry's key) is issued and accepted; a token dated in the future.
Revocation holds across processes: two `registry serve` processes on one database refuse a
disabled client's token within the poll interval, never hidden behind the cache of verified
tokens (CONTRACT §1: within 60 s).

Every case that touches the client table runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from sqlalchemy import delete

from api import clients as manage
from api.auth import CLI_CLIENT_ID, InvalidToken, TokenVerifier
from api.cli import main
from api.clients import cli_create_client, create_client
from api.issuer import Issuer, SigningKeys
from api.settings import Settings, SettingsError
from db.models.clients import Client
from tests.api.conftest import prepare
from tests.factories import Registry
from tests.live import registry_serve
from tests.security.abuse.serving import case_system
from tests.security.conftest import serve

ME = "{ me { sub } }"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Registry]:
    """The API, reloading the client table on every request (the poll interval's own bound
    is tested with two processes below)."""
    await prepare(settings.database_url)
    async with serve(settings.with_(client_poll_seconds=0.0)) as registry:
        yield registry


@pytest.fixture
async def client(app: Registry) -> tuple[str, str]:
    return await case_system(app)


async def obtain(http: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                           auth=(client_id, secret))


async def token_of(http: httpx.AsyncClient, client_id: str, secret: str) -> str:
    response = await obtain(http, client_id, secret)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def me(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post("/graphql", json={"query": ME},
                           headers={"Authorization": f"Bearer {token}"})


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert "data" not in response.json()


async def test_a_disabled_clients_token_is_refused_and_it_gets_no_new_one(
        app: Registry, client: tuple[str, str]) -> None:
    client_id, secret = client
    token = await token_of(app.http, client_id, secret)
    assert (await me(app.http, token)).status_code == 200
    await asyncio.to_thread(manage.cli_disable_client, app.settings, client_id)
    assert_refused(await me(app.http, token))
    refused = await obtain(app.http, client_id, secret)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


async def test_a_deleted_clients_token_is_refused(app: Registry, client: tuple[str, str]) -> None:
    client_id, secret = client
    token = await token_of(app.http, client_id, secret)
    assert (await me(app.http, token)).status_code == 200
    async with app.app.state.registry.database.session() as session:
        await session.execute(delete(Client).where(Client.client_id == client_id))  # type: ignore[arg-type]
        await session.commit()
    assert_refused(await me(app.http, token))


async def test_enabling_a_client_again_does_not_bring_back_its_old_tokens(
        app: Registry, client: tuple[str, str]) -> None:
    client_id, secret = client
    old = await token_of(app.http, client_id, secret)
    await asyncio.to_thread(manage.cli_disable_client, app.settings, client_id)
    await asyncio.to_thread(manage.cli_enable_client, app.settings, client_id)
    assert_refused(await me(app.http, old))
    # In the same second as the enable: a new token is dated after it, and stands.
    new = await token_of(app.http, client_id, secret)
    assert (await me(app.http, new)).status_code == 200


async def test_after_a_rotation_the_old_secret_and_the_tokens_it_got_are_refused(
        app: Registry, client: tuple[str, str]) -> None:
    client_id, old_secret = client
    leaked = await token_of(app.http, client_id, old_secret)
    rotated_id, new_secret = await asyncio.to_thread(manage.cli_rotate_client_secret,
                                                     app.settings, client_id)
    assert rotated_id == client_id and new_secret != old_secret
    refused = await obtain(app.http, client_id, old_secret)
    assert refused.status_code == 401 and "access_token" not in refused.text
    assert_refused(await me(app.http, leaked))
    fresh = await token_of(app.http, client_id, new_secret)
    assert (await me(app.http, fresh)).status_code == 200


async def test_a_token_naming_an_unregistered_client_of_the_registered_form_is_refused(
        app: Registry, client: tuple[str, str]) -> None:
    """Tokens minted by the operator (`registry-cli`) or by tests name no client row and
    stand; one naming a `client-<hex>` id that is not (or no longer) in the table does not."""
    issuer = app.app.state.registry.issuer
    for client_id in (CLI_CLIENT_ID, "tests"):
        minted = issuer.issue(sub="clerk", role="registry_clerk", client_id=client_id,
                              agency="REG-110101")
        assert (await me(app.http, minted)).status_code == 200
    ghost = issuer.issue(sub="x", role="registry_clerk",
                         client_id="client-" + secrets.token_hex(12), agency="REG-110101")
    assert_refused(await me(app.http, ghost))


# --- lifetime ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Issuer:
    path = tmp_path_factory.mktemp("keys") / "key.pem"
    return Issuer(Settings(signing_key_file=str(path)),
                  SigningKeys.load_or_create(str(path)))


def signed(issuer: Issuer, **changes: Any) -> str:
    """A token signed with the registry's own key, claims as the issuer makes them."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer.settings.issuer, "aud": issuer.settings.audience, "sub": "clerk",
        "client_id": "registry-cli", "role": "registry_clerk", "iat": now, "exp": now + 900,
        "jti": secrets.token_urlsafe(8)}
    claims.update(changes)
    header = {"typ": "at+jwt", "alg": issuer.keys.alg, "kid": issuer.keys.kid}
    return jwt.encode(header, claims, issuer.keys.private_key, algorithms=[issuer.keys.alg])


async def test_a_token_living_longer_than_the_cap_is_refused(issuer: Issuer) -> None:
    verifier = TokenVerifier(issuer.settings, issuer)
    now = int(time.time())
    cap = issuer.settings.token_max_ttl
    assert cap == 28800
    for exp in (10**20, now + cap + 1, now + 99999999999):
        with pytest.raises(InvalidToken, match="lifetime"):
            await verifier.verify(signed(issuer, iat=now, exp=exp))
    # Back-dated so that it has not expired: the lifetime, not the time left, is capped.
    with pytest.raises(InvalidToken, match="lifetime"):
        await verifier.verify(signed(issuer, iat=now - 3600, exp=now - 3600 + cap + 1))
    principal = await verifier.verify(signed(issuer, iat=now, exp=now + cap))
    assert principal.sub == "clerk"


async def test_a_token_dated_in_the_future_is_refused(issuer: Issuer) -> None:
    now = int(time.time())
    with pytest.raises(InvalidToken, match="iat"):
        await TokenVerifier(issuer.settings, issuer).verify(
            signed(issuer, iat=now + 120, exp=now + 600))


def test_token_issue_refuses_a_ttl_above_the_cap_naming_ttl(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REGISTRY_SIGNING_KEY_FILE", str(tmp_path / "key.pem"))
    for ttl in ("99999999999", "28801"):
        assert main(["token", "issue", "--sub", "x", "--role", "judge", "--ttl", ttl]) == 2
        err = capsys.readouterr().err
        assert "--ttl" in err and "28800" in err
    assert main(["token", "issue", "--sub", "x", "--role", "judge", "--ttl", "28800"]) == 0
    issuer = Issuer(Settings(signing_key_file=str(tmp_path / "key.pem")),
                    SigningKeys.load_or_create(str(tmp_path / "key.pem")))
    with pytest.raises(ValueError, match="28800"):
        issuer.issue(sub="x", role="judge", client_id="tests", ttl=28801)


def test_a_default_token_lifetime_above_the_cap_stops_start_up() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"REGISTRY_TOKEN_TTL_SECONDS": "28801"})
    assert caught.value.variable == "REGISTRY_TOKEN_TTL_SECONDS"
    assert "REGISTRY_TOKEN_MAX_TTL" in str(caught.value)
    raised = Settings.from_env({"REGISTRY_TOKEN_TTL_SECONDS": "28801",
                                "REGISTRY_TOKEN_MAX_TTL": "86400"})
    assert raised.token_ttl_seconds == 28801


# --- across processes -------------------------------------------------------------------


async def test_with_the_default_poll_interval_a_disabled_clients_token_falls_within_sixty_s(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default interval, on a clock moved forward: the token was verified just before
    (so it sits in the 60 s cache of verified tokens), and is refused once the interval has
    passed, at most 60 s after the disable."""
    default = Settings().client_poll_seconds
    assert 0 < default < 60
    await prepare(settings.database_url)
    async with serve(settings) as app:
        async with app.app.state.registry.database.session() as session:
            client_id, secret = await create_client(session, name="Portal", role="employer")
            await session.commit()
        token = await token_of(app.http, client_id, secret)
        assert (await me(app.http, token)).status_code == 200
        await asyncio.to_thread(manage.cli_disable_client, app.settings, client_id)
        moved = time.monotonic() + default + 0.01
        monkeypatch.setattr("api.revocation.monotonic", lambda: moved)
        assert_refused(await me(app.http, token))


@pytest.mark.parametrize("poll_seconds", [1.0])
def test_two_processes_refuse_a_disabled_clients_token_within_the_poll_interval(
        database_url: str, tmp_path: Path, poll_seconds: float) -> None:
    asyncio.run(prepare(database_url))
    settings = Settings(database_url=database_url)
    client_id, secret = cli_create_client(settings, "Case system", "police_officer",
                                          "PSB-110101")
    environment = {"REGISTRY_DATABASE_URL": database_url,
                   "REGISTRY_SIGNING_KEY_FILE": str(tmp_path / "key.pem"),
                   "REGISTRY_ISSUER": "http://127.0.0.1:8000",
                   "REGISTRY_CLIENT_POLL_SECONDS": str(poll_seconds)}
    with registry_serve(environment, tmp_path) as first, \
            registry_serve(environment, tmp_path) as second:
        elapsed = asyncio.run(_disable_and_wait(
            [first.base_url, second.base_url], settings, client_id, secret))
    # The interval, and room for a reload and a loaded machine.
    for seconds in elapsed:
        assert seconds < poll_seconds + 3.0, elapsed


async def _disable_and_wait(base_urls: list[str], settings: Settings, client_id: str,
                            secret: str) -> list[float]:
    """Seconds from the disable until each server refuses the token (30 s at most)."""
    async with httpx.AsyncClient(base_url=base_urls[0]) as http:
        token = await token_of(http, client_id, secret)
    servers = [httpx.AsyncClient(base_url=url) for url in base_urls]
    try:
        for server in servers:  # each has verified (and cached) the token
            assert (await me(server, token)).status_code == 200
        await asyncio.to_thread(manage.cli_disable_client, settings, client_id)
        disabled = time.monotonic()
        for server in servers:
            refused = await obtain(server, client_id, secret)
            assert refused.status_code == 401, refused.text
        elapsed = []
        for server in servers:
            while (await me(server, token)).status_code == 200:
                assert time.monotonic() - disabled < 30, "the token still works"
                await asyncio.sleep(0.05)
            assert_refused(await me(server, token))
            elapsed.append(time.monotonic() - disabled)
        return elapsed
    finally:
        for server in servers:
            await server.aclose()
