"""Issue 15, item 1: people sign in through a client with the authorization code and PKCE.

The rules and the attacks on them: S256 only (PKCE missing, `plain`, a wrong verifier),
exact redirect URIs (a trailing slash, an extra query, an unknown one: never redirected
to), `state` required and echoed, one-time codes that expire (a code used twice revokes
the tokens of its first use), refresh tokens rotated with reuse detection, disabled people,
brute force, clickjacking and CSRF on the sign-in form, and which client may sign in whom.
Every case runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlencode

import httpx
import pytest
from joserfc.jws import extract_compact
from sqlalchemy import update
from sqlmodel import col, select

from api.ratelimit import bucket_key
from api.settings import Settings
from api.users import set_user_disabled, set_user_password
from db.models import AuthorizationCode, Client, Grant, RefreshToken
from db.models.base import utcnow
from tests.api.conftest import prepare
from tests.factories import Registry
from tests.security.conftest import serve
from tests.signin import (
    PASSWORD,
    REDIRECT,
    Flow,
    accepted,
    add_client,
    add_person,
    code_for,
    exchange,
    form_of,
    open_page,
    redirected,
    refresh,
    sign_in,
    tokens_for,
)

LAWYER = "lawyer-li"
FIRM = "LAW-110101"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Registry]:
    """The API, revocations seen at once (no poll interval), with a law firm, a lawyer of it
    and a judge who may sign in."""
    await prepare(settings.database_url)
    async with serve(settings.with_(client_poll_seconds=0.0)) as registry:
        await add_person(registry, LAWYER, "defense_lawyer", agency=FIRM)
        await add_person(registry, "judge-wang", "judge", agency="COURT-110101")
        yield registry


@pytest.fixture
async def firm(app: Registry) -> Flow:
    """The firm's server-side app: a confidential client for its lawyers."""
    return await add_client(app, role="defense_lawyer", agency=FIRM)


@pytest.fixture
async def browser_app(app: Registry) -> Flow:
    """A public client (no secret) registered without a role."""
    return await add_client(app, role=None, public=True,
                            redirect_uris=("http://127.0.0.1:9000/app/",), name="Browser app")


def claims(token: str) -> dict[str, object]:
    payload: dict[str, object] = json.loads(extract_compact(token.encode()).payload)
    return payload


def masked(page: str) -> str:
    """A page without its CSRF token (an HMAC with an expiry: new on every page)."""
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', page)


# --- the flow ---------------------------------------------------------------------------

async def test_a_lawyer_signs_in_through_the_firms_app_and_the_token_names_the_lawyer(
        app: Registry, firm: Flow) -> None:
    body = await tokens_for(app.http, firm, LAWYER)
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"]
    token = claims(body["access_token"])
    assert token["sub"] == LAWYER
    assert token["role"] == "defense_lawyer"
    assert token["agency"] == FIRM
    assert token["client_id"] == firm.client_id
    assert str(token["grant_id"]).startswith("grant-")
    assert "id_number" not in token
    principal = await app.app.state.registry.verifier.verify(body["access_token"])
    assert (principal.sub, principal.role, principal.client_id) == (
        LAWYER, "defense_lawyer", firm.client_id)
    assert await accepted(app.http, body["access_token"])


async def test_the_state_is_echoed_and_the_code_is_stored_only_as_a_digest(
        app: Registry, firm: Flow) -> None:
    back = redirected(await sign_in(app.http, firm, LAWYER))
    assert back["state"] == firm.state
    async with app.app.state.registry.database.session() as session:
        stored = list(await session.scalars(select(col(AuthorizationCode.code_hash))))
    assert back["code"] not in stored and len(stored) == 1


async def test_a_public_client_gets_tokens_without_a_secret_and_the_persons_own_role(
        app: Registry, browser_app: Flow) -> None:
    await add_person(app, "individual-zhou", "individual", id_number="11010519491231002X")
    body = await tokens_for(app.http, browser_app, "individual-zhou")
    token = claims(body["access_token"])
    assert (token["sub"], token["role"], token["id_number"]) == (
        "individual-zhou", "individual", "11010519491231002X")
    assert token["client_id"] == browser_app.client_id
    assert body["refresh_token"]


async def test_a_signed_in_persons_refresh_token_is_stored_only_as_a_digest(
        app: Registry, firm: Flow) -> None:
    body = await tokens_for(app.http, firm, LAWYER)
    async with app.app.state.registry.database.session() as session:
        stored = list(await session.scalars(select(col(RefreshToken.token_hash))))
    assert body["refresh_token"] not in stored and len(stored) == 1


# --- PKCE -------------------------------------------------------------------------------

@pytest.mark.parametrize("changes", [
    {"code_challenge": None, "code_challenge_method": None},
    {"code_challenge_method": "plain"},
    {"code_challenge_method": None},
])
async def test_an_authorization_request_without_an_s256_challenge_is_refused(
        app: Registry, firm: Flow, changes: dict[str, str | None]) -> None:
    if changes.get("code_challenge_method", "") == "plain":
        changes = {**changes, "code_challenge": firm.verifier}
    back = redirected(await open_page(app.http, firm, **changes))
    assert back["error"] == "invalid_request"
    assert back["state"] == firm.state
    assert "code" not in back


async def test_a_wrong_code_verifier_gets_no_token_and_burns_the_code(
        app: Registry, firm: Flow) -> None:
    code = await code_for(app.http, firm, LAWYER)
    another_verifier = Flow(firm.client_id, firm.secret).verifier
    refused = await exchange(app.http, firm, code, verifier=another_verifier)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert "access_token" not in refused.text
    again = await exchange(app.http, firm, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


async def test_a_code_verifier_that_is_not_one_is_refused(app: Registry, firm: Flow) -> None:
    code = await code_for(app.http, firm, LAWYER)
    refused = await exchange(app.http, firm, code, verifier="short")
    assert refused.status_code == 400
    assert "access_token" not in refused.text


# --- redirect URIs ----------------------------------------------------------------------

@pytest.mark.parametrize("redirect_uri", [
    REDIRECT + "/", REDIRECT + "?next=/admin", REDIRECT.upper(), "https://evil.example/callback",
    "https://firm.example/callback/../evil", None])
async def test_a_redirect_uri_that_is_not_exactly_a_registered_one_is_never_redirected_to(
        app: Registry, firm: Flow, redirect_uri: str | None) -> None:
    page = await open_page(app.http, firm, redirect_uri=redirect_uri)
    assert page.status_code == 400
    assert "location" not in page.headers
    assert page.headers["content-type"].startswith("text/html")
    assert "Cannot sign in" in page.text
    assert page.headers["x-frame-options"] == "DENY"


async def test_an_unknown_client_gets_the_page_a_wrong_redirect_uri_gets(
        app: Registry, firm: Flow) -> None:
    unknown = await open_page(app.http, Flow("client-" + "0" * 24, None),
                              redirect_uri="https://evil.example/cb")
    wrong = await open_page(app.http, firm, redirect_uri="https://evil.example/cb")
    assert unknown.status_code == wrong.status_code == 400
    assert unknown.text == wrong.text


async def test_a_disabled_client_cannot_sign_anyone_in(app: Registry, firm: Flow) -> None:
    async with app.app.state.registry.database.session() as session:
        await session.execute(update(Client).where(col(Client.client_id) == firm.client_id)
                              .values(active=False))
        await session.commit()
    page = await open_page(app.http, firm)
    assert page.status_code == 400 and "location" not in page.headers


async def test_the_code_must_be_exchanged_with_the_redirect_uri_it_was_issued_for(
        app: Registry) -> None:
    flow = await add_client(app, redirect_uris=(REDIRECT, REDIRECT + "/other"))
    code = await code_for(app.http, flow, LAWYER)
    refused = await exchange(app.http, flow, code, redirect_uri=REDIRECT + "/other")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


# --- state ------------------------------------------------------------------------------

async def test_an_authorization_request_without_state_is_refused(
        app: Registry, firm: Flow) -> None:
    back = redirected(await open_page(app.http, firm, state=None))
    assert back["error"] == "invalid_request"
    assert "code" not in back


# --- one-time codes ---------------------------------------------------------------------

async def test_a_code_used_twice_is_refused_and_the_tokens_of_its_first_use_are_revoked(
        app: Registry, firm: Flow) -> None:
    code = await code_for(app.http, firm, LAWYER)
    first = await exchange(app.http, firm, code)
    assert first.status_code == 200
    tokens = first.json()
    assert await accepted(app.http, tokens["access_token"])
    second = await exchange(app.http, firm, code)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert "access_token" not in second.text
    assert not await accepted(app.http, tokens["access_token"])
    refused = await refresh(app.http, firm, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


async def test_two_exchanges_of_one_code_at_once_give_tokens_once_and_then_revoke_them(
        app: Registry, firm: Flow) -> None:
    code = await code_for(app.http, firm, LAWYER)
    answers = await asyncio.gather(exchange(app.http, firm, code),
                                   exchange(app.http, firm, code))
    assert sorted(a.status_code for a in answers) == [200, 400]
    [granted] = [a for a in answers if a.status_code == 200]
    assert not await accepted(app.http, granted.json()["access_token"])


async def test_an_expired_code_is_refused(app: Registry, firm: Flow) -> None:
    code = await code_for(app.http, firm, LAWYER)
    async with app.app.state.registry.database.session() as session:
        await session.execute(update(AuthorizationCode).values(
            expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    refused = await exchange(app.http, firm, code)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


async def test_a_code_lives_sixty_seconds(app: Registry, firm: Flow) -> None:
    before = utcnow()
    await code_for(app.http, firm, LAWYER)
    async with app.app.state.registry.database.session() as session:
        [expires] = list(await session.scalars(select(col(AuthorizationCode.expires_at))))
    assert timedelta(seconds=59) <= expires - before <= timedelta(seconds=61)


async def test_a_code_issued_to_one_client_is_refused_to_another(
        app: Registry, firm: Flow) -> None:
    other = await add_client(app, role="defense_lawyer", name="Other firm")
    code = await code_for(app.http, firm, LAWYER)
    other.verifier = firm.verifier
    refused = await exchange(app.http, other, code, redirect_uri=firm.redirect_uri)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert (await exchange(app.http, firm, code)).status_code == 200


# --- refresh tokens ---------------------------------------------------------------------

async def test_a_refresh_token_is_rotated_and_its_reuse_revokes_the_whole_grant(
        app: Registry, browser_app: Flow) -> None:
    first = await tokens_for(app.http, browser_app, LAWYER)
    rotated = await refresh(app.http, browser_app, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert claims(second["access_token"])["grant_id"] == claims(first["access_token"])["grant_id"]
    assert claims(second["access_token"])["sub"] == LAWYER
    assert await accepted(app.http, second["access_token"])
    reused = await refresh(app.http, browser_app, first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # The thief's and the owner's tokens alike: the grant is gone.
    assert not await accepted(app.http, first["access_token"])
    assert not await accepted(app.http, second["access_token"])
    newest = await refresh(app.http, browser_app, second["refresh_token"])
    assert newest.status_code == 400 and newest.json()["error"] == "invalid_grant"


async def test_a_refresh_token_is_refused_to_another_client(
        app: Registry, browser_app: Flow, firm: Flow) -> None:
    tokens = await tokens_for(app.http, browser_app, LAWYER)
    refused = await refresh(app.http, firm, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert (await refresh(app.http, browser_app, tokens["refresh_token"])).status_code == 200


async def test_a_refresh_token_past_the_grants_lifetime_is_refused(
        app: Registry, firm: Flow) -> None:
    tokens = await tokens_for(app.http, firm, LAWYER)
    async with app.app.state.registry.database.session() as session:
        await session.execute(update(Grant).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    refused = await refresh(app.http, firm, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


# --- disabled people --------------------------------------------------------------------

async def test_a_disabled_persons_sign_in_fails_as_a_wrong_password_or_unknown_person_does(
        app: Registry, firm: Flow) -> None:
    await add_person(app, "lawyer-gone", "defense_lawyer", agency=FIRM)
    async with app.app.state.registry.database.session() as session:
        await set_user_disabled(session, "lawyer-gone", True)
        await session.commit()
    disabled = await sign_in(app.http, firm, "lawyer-gone", state="s")
    wrong = await sign_in(app.http, firm, LAWYER, "wrong password!!", state="s")
    unknown = await sign_in(app.http, firm, "lawyer-nobody", state="s")
    assert disabled.status_code == wrong.status_code == unknown.status_code == 401
    pages = [masked(r.text).replace(name, "NAME") for r, name in (
        (disabled, "lawyer-gone"), (wrong, LAWYER), (unknown, "lawyer-nobody"))]
    assert pages[0] == pages[1] == pages[2]
    assert "location" not in disabled.headers


async def test_a_disabled_persons_refresh_is_refused_and_their_tokens_revoked(
        app: Registry, firm: Flow) -> None:
    tokens = await tokens_for(app.http, firm, LAWYER)
    async with app.app.state.registry.database.session() as session:
        await set_user_disabled(session, LAWYER, True)
        await session.commit()
    refused = await refresh(app.http, firm, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert not await accepted(app.http, tokens["access_token"])


async def test_a_person_disabled_between_sign_in_and_exchange_gets_no_token(
        app: Registry, firm: Flow) -> None:
    code = await code_for(app.http, firm, LAWYER)
    async with app.app.state.registry.database.session() as session:
        await set_user_disabled(session, LAWYER, True)
        await session.commit()
    refused = await exchange(app.http, firm, code)
    assert refused.status_code == 400 and "access_token" not in refused.text


async def test_a_new_password_ends_the_persons_sign_ins(app: Registry, firm: Flow) -> None:
    tokens = await tokens_for(app.http, firm, LAWYER)
    async with app.app.state.registry.database.session() as session:
        await set_user_password(session, LAWYER, "another long passphrase")
        await session.commit()
    refused = await refresh(app.http, firm, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert not await accepted(app.http, tokens["access_token"])


async def test_a_disabled_clients_refresh_is_refused_and_its_peoples_tokens_revoked(
        app: Registry, browser_app: Flow) -> None:
    tokens = await tokens_for(app.http, browser_app, LAWYER)
    async with app.app.state.registry.database.session() as session:
        from api.clients import set_client_active

        await set_client_active(session, browser_app.client_id, False)
        await session.commit()
    refused = await refresh(app.http, browser_app, tokens["refresh_token"])
    assert refused.status_code in (400, 401) and "access_token" not in refused.text
    assert not await accepted(app.http, tokens["access_token"])


# --- who may sign in through which client ------------------------------------------------

async def test_a_client_registered_for_lawyers_does_not_sign_in_a_judge(
        app: Registry, firm: Flow) -> None:
    judge = await sign_in(app.http, firm, "judge-wang", state="s")
    wrong = await sign_in(app.http, firm, LAWYER, "wrong password!!", state="s")
    assert judge.status_code == 401
    assert masked(judge.text).replace("judge-wang", "NAME") == \
        masked(wrong.text).replace(LAWYER, "NAME")


async def test_a_firms_client_does_not_sign_in_a_lawyer_of_another_firm(
        app: Registry, firm: Flow) -> None:
    await add_person(app, "lawyer-other", "defense_lawyer", agency="COURT-110101")
    assert (await sign_in(app.http, firm, "lawyer-other")).status_code == 401


async def test_a_user_token_never_takes_the_client_rows_role(
        app: Registry) -> None:
    flow = await add_client(app, role=None, public=True, name="Console")
    tokens = await tokens_for(app.http, flow, "judge-wang")
    assert claims(tokens["access_token"])["role"] == "judge"


async def test_a_public_client_gets_no_client_credentials_token(
        app: Registry, browser_app: Flow) -> None:
    response = await app.http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": browser_app.client_id})
    assert response.status_code in (400, 401)
    assert "access_token" not in response.text


async def test_a_confidential_client_must_authenticate_to_exchange_a_code(
        app: Registry, firm: Flow) -> None:
    code = await code_for(app.http, firm, LAWYER)
    unauthenticated = Flow(firm.client_id, None, verifier=firm.verifier)
    refused = await exchange(app.http, unauthenticated, code)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


# --- the sign-in form: brute force, clickjacking, CSRF -----------------------------------

async def test_five_wrong_passwords_for_one_person_then_429_even_with_the_right_one(
        app: Registry, firm: Flow) -> None:
    for n in range(5):
        assert (await sign_in(app.http, firm, LAWYER, f"guess number {n}")).status_code == 401
    throttled = await sign_in(app.http, firm, LAWYER, PASSWORD)
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["retry-after"]) <= 60
    assert "location" not in throttled.headers
    # An unknown name is throttled alike: the answer does not tell who exists.
    for n in range(5):
        await sign_in(app.http, firm, "lawyer-nobody", f"guess number {n}")
    unknown = await sign_in(app.http, firm, "lawyer-nobody", PASSWORD)
    assert unknown.status_code == 429
    assert unknown.text == throttled.text


async def test_twenty_failures_from_one_address_throttle_it_whoever_it_tries(
        app: Registry, firm: Flow) -> None:
    for n in range(20):
        await sign_in(app.http, firm, f"sprayed-{n}", "guess password")
    assert (await sign_in(app.http, firm, LAWYER)).status_code == 429


async def test_the_sign_in_page_cannot_be_framed_or_cached(app: Registry, firm: Flow) -> None:
    responses = [await open_page(app.http, firm),
                 await sign_in(app.http, firm, LAWYER, "wrong password!!"),
                 await open_page(app.http, firm, redirect_uri="https://evil.example/"),
                 await sign_in(app.http, firm, LAWYER)]
    for response in responses:
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        assert "default-src 'none'" in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
    page = responses[0].text
    assert not re.search(r"<(script|link|img|iframe|object)\b|\b(src|href)=", page), \
        "no external asset, no script"
    assert "form-action 'self' https://firm.example;" in \
        responses[0].headers["content-security-policy"]


async def test_a_form_without_its_csrf_token_or_cookie_or_for_another_request_is_refused(
        app: Registry, firm: Flow) -> None:
    page = await open_page(app.http, firm)
    action, token = form_of(page.text)
    credentials = {"username": LAWYER, "password": PASSWORD}
    missing = await app.http.post(action, data=credentials)
    wrong = await app.http.post(action, data={**credentials, "csrf_token": "1." + "0" * 64})
    other_state = action.replace(f"state={firm.state}", "state=forged")
    foreign = await app.http.post(other_state, data={**credentials, "csrf_token": token})
    async with httpx.AsyncClient(transport=app.http._transport,
                                 base_url="http://registry.test") as cookieless:
        no_cookie = await cookieless.post(action, data={**credentials, "csrf_token": token})
    for refused in (missing, wrong, foreign, no_cookie):
        assert refused.status_code == 400, refused.text
        assert "location" not in refused.headers
        assert "expired or did not come from this page" in refused.text
    async with app.app.state.registry.database.session() as session:
        assert list(await session.scalars(select(col(AuthorizationCode.id)))) == []
    # The form itself still works.
    accepted_form = await app.http.post(action, data={**credentials, "csrf_token": token})
    assert redirected(accepted_form)["state"] == firm.state


async def test_the_csrf_cookie_is_http_only_and_same_site_strict(
        app: Registry, firm: Flow) -> None:
    page = await app.http.get("/oauth/authorize?" + urlencode(firm.params()))
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert "path=/oauth/authorize" in cookie


# --- metadata -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/.well-known/oauth-authorization-server",
                                  "/.well-known/openid-configuration"])
async def test_metadata_announces_the_code_grant_with_s256_only(app: Registry, path: str) -> None:
    metadata = (await app.http.get(path)).json()
    issuer = app.settings.issuer.rstrip("/")
    assert metadata["authorization_endpoint"] == issuer + "/oauth/authorize"
    assert metadata["token_endpoint"] == issuer + "/oauth/token"
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert {"authorization_code", "refresh_token"} <= set(metadata["grant_types_supported"])
    assert "none" in metadata["token_endpoint_auth_methods_supported"]


# --- rate limits ----------------------------------------------------------------------------

async def test_each_person_signed_in_through_one_client_has_a_bucket_of_their_own(
        app: Registry, browser_app: Flow) -> None:
    verify = app.app.state.registry.verifier.verify
    lawyer = await verify((await tokens_for(app.http, browser_app, LAWYER))["access_token"])
    judge = await verify((await tokens_for(app.http, browser_app, "judge-wang"))["access_token"])
    again = await verify((await tokens_for(app.http, browser_app, LAWYER))["access_token"])
    assert bucket_key(lawyer) != bucket_key(judge)
    assert bucket_key(lawyer) == bucket_key(again)
    assert browser_app.client_id in bucket_key(lawyer)


# --- logs -----------------------------------------------------------------------------------

async def test_no_password_code_verifier_or_token_is_ever_logged(
        app: Registry, firm: Flow, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await sign_in(app.http, firm, LAWYER, "a wrong password guess")
    back = redirected(await sign_in(app.http, firm, LAWYER))
    first = (await exchange(app.http, firm, back["code"])).json()
    second = (await refresh(app.http, firm, first["refresh_token"])).json()
    await exchange(app.http, firm, back["code"])  # used twice: logged as such
    secrets_seen = [PASSWORD, "a wrong password guess", back["code"], firm.verifier,
                    firm.secret, first["access_token"], first["refresh_token"],
                    second["access_token"], second["refresh_token"]]
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "presented twice" in logged
    for secret in secrets_seen:
        assert secret and secret not in logged
