"""A client of the authorization-code grant, as a firm's app or a browser app would be:
PKCE pair, the authorization request, the sign-in form, the code exchange (issue 15)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from api.clients import create_client
from api.users import add_user
from tests.factories import Registry

PASSWORD = "correct horse battery staple"
REDIRECT = "https://firm.example/callback"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class Flow:
    client_id: str
    secret: str | None
    redirect_uri: str = REDIRECT
    verifier: str = ""
    challenge: str = ""
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    def __post_init__(self) -> None:
        if not self.verifier:
            self.verifier, self.challenge = pkce()

    def params(self, **changes: str | None) -> dict[str, str]:
        params: dict[str, str | None] = {
            "response_type": "code", "client_id": self.client_id,
            "redirect_uri": self.redirect_uri, "state": self.state,
            "code_challenge": self.challenge, "code_challenge_method": "S256"}
        params.update(changes)
        return {name: value for name, value in params.items() if value is not None}


async def add_person(registry: Registry, sub: str, role: str, *, agency: str | None = None,
                     id_number: str | None = None, password: str = PASSWORD) -> None:
    async with registry.app.state.registry.database.session() as session:
        await add_user(session, sub=sub, role=role, password=password, agency_code=agency,
                       id_number=id_number)
        await session.commit()


async def add_client(registry: Registry, *, role: str | None = "defense_lawyer",
                     agency: str | None = None, public: bool = False,
                     redirect_uris: tuple[str, ...] = (REDIRECT,), name: str = "Firm app",
                     scopes: str = "") -> Flow:
    async with registry.app.state.registry.database.session() as session:
        client_id, secret = await create_client(
            session, name=name, role=role, agency_code=agency, redirect_uris=redirect_uris,
            public=public, scopes=scopes)
        await session.commit()
    return Flow(client_id, secret, redirect_uri=redirect_uris[0])


def form_of(page: str) -> tuple[str, str]:
    """The sign-in form's action and CSRF token."""
    action = re.search(r'<form method="post" action="([^"]+)"', page)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert action and token, page
    return unescape(action.group(1)), unescape(token.group(1))


async def open_page(http: httpx.AsyncClient, flow: Flow, **changes: str | None
                    ) -> httpx.Response:
    return await http.get("/oauth/authorize?" + urlencode(flow.params(**changes)))


async def sign_in(http: httpx.AsyncClient, flow: Flow, username: str,
                  password: str = PASSWORD, **changes: str | None) -> httpx.Response:
    """Opens the sign-in page and submits it; the answer to the form."""
    page = await open_page(http, flow, **changes)
    assert page.status_code == 200, page.text
    action, token = form_of(page.text)
    return await http.post(action, data={"csrf_token": token, "username": username,
                                         "password": password})


def redirected(response: httpx.Response) -> dict[str, str]:
    """The query of the redirect back to the client (one value each)."""
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return {name: values[0] for name, values in query.items()}


async def code_for(http: httpx.AsyncClient, flow: Flow, username: str) -> str:
    back = redirected(await sign_in(http, flow, username))
    assert back["state"] == flow.state
    return back["code"]


async def exchange(http: httpx.AsyncClient, flow: Flow, code: str, *,
                   verifier: str | None = None, redirect_uri: str | None = None
                   ) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code,
            "redirect_uri": redirect_uri or flow.redirect_uri,
            "code_verifier": verifier or flow.verifier}
    return await http.post("/oauth/token", data=data, **_client_auth(flow, data))


async def refresh(http: httpx.AsyncClient, flow: Flow, token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token}
    return await http.post("/oauth/token", data=data, **_client_auth(flow, data))


def _client_auth(flow: Flow, data: dict[str, str]) -> dict[str, Any]:
    if flow.secret is None:
        data["client_id"] = flow.client_id  # a public client: authentication method none
        return {}
    return {"auth": (flow.client_id, flow.secret)}


async def tokens_for(http: httpx.AsyncClient, flow: Flow, username: str) -> dict[str, Any]:
    response = await exchange(http, flow, await code_for(http, flow, username))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def accepted(http: httpx.AsyncClient, access_token: str) -> bool:
    """Whether /graphql takes the token (an anonymous-safe document)."""
    response = await http.post("/graphql", json={"query": "{ __typename }"},
                               headers={"Authorization": f"Bearer {access_token}"})
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200
