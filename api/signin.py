"""`/oauth/authorize`: the sign-in page of the authorization-code grant (issue 15).

GET validates the authorization request with authlib (`AuthorizationServer.
get_consent_grant`: client, exact redirect URI, response type, scope, S256 challenge,
state) and shows the form; POST checks the form's CSRF token, the person's password
(`api.users.verify_user`) and the client's admission rule (api/grants.py), then lets
authlib make the code and the redirect.

- A request whose client or redirect URI does not check out is never redirected: it gets
  an error page. Once the redirect URI is known good, authlib's errors go back to it.
- CSRF: a random cookie (HttpOnly, SameSite=Strict, path /oauth/authorize) and, in the
  form, an HMAC of that cookie, the authorization request's parameters and an expiry,
  keyed with a key derived from the issuer's signing key (every worker has it). A form
  posted from elsewhere lacks the cookie or the token; a token made for one request does
  not fit another.
- Failed sign-ins count like failed client authentications at `/oauth/token` (the same
  `TokenThrottle`: 5 a minute for one user name, 20 from one address), answered 429 with
  Retry-After; every failure (unknown person, wrong password, disabled person, a client
  that does not admit the person) gets the same page.
- Every response: `Content-Security-Policy` with `default-src 'none'` and
  `frame-ancestors 'none'`, `X-Frame-Options: DENY`, `Cache-Control: no-store`
  (api/transport.py), `Referrer-Policy: no-referrer`. No external asset: one inline style,
  allowed by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from authlib.oauth2.rfc6749 import OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749.requests import OAuth2Payload
from limits.errors import StorageError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from api.grants import SignedIn, admits, new_grant_id, save_codes
from api.token_throttle import BUSY_RETRY_AFTER, Busy, TokenThrottle
from api.users import verify_user
from db.engine import Database

if TYPE_CHECKING:
    from api.issuer import Issuer, _TokenGenerator

log = logging.getLogger(__name__)

COOKIE = "registry_signin"
CSRF_SECONDS = 15 * 60
# The parameters an authorization request is made of; the CSRF token covers them all.
REQUEST_PARAMETERS = ("response_type", "client_id", "redirect_uri", "scope", "state",
                      "code_challenge", "code_challenge_method")
MAX_FIELD = 1000

STYLE = ("body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;"
         "color:#111}h1{font-size:1.4rem}label{display:block;margin-top:1rem}"
         "input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}"
         "button{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem}"
         ".error{color:#a00;border:1px solid #a00;padding:.6rem}")
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

FAILED = "The user name or password is not right, or this account cannot sign in here."
THROTTLED = "Too many failed sign-ins: wait the number of seconds in Retry-After, then retry."
BUSY = "The sign-in service is busy: retry in a moment."
BAD_FORM = ("This sign-in form has expired or did not come from this page: go back to the "
            "application and start again.")


class _Payload(OAuth2Payload):  # type: ignore[misc]
    """The authorization request's query parameters, repeated ones kept for authlib to
    refuse (RFC 6749 §3.1)."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._datalist: dict[str, list[str]] = {}
        for name, value in items:
            self._datalist.setdefault(name, []).append(value)
        self._data = {name: values[0] for name, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class _AuthorizeRequest(OAuth2Request):  # type: ignore[misc]
    def __init__(self, method: str, uri: str, headers: Any, items: list[tuple[str, str]]) -> None:
        super().__init__(method, uri, headers=headers)
        self.payload = _Payload(items)

    @property
    def args(self) -> dict[str, str]:
        data: dict[str, str] = self.payload.data
        return data

    @property
    def form(self) -> dict[str, str]:
        return {}


class _Csrf:
    def __init__(self, issuer: Issuer) -> None:
        pem = issuer.keys.private_key.as_pem(private=True)
        self._key = hashlib.sha256(b"registry sign-in csrf\0" + pem).digest()

    def _mac(self, cookie: str, expires: int, params: dict[str, str]) -> str:
        bound = json.dumps([cookie, expires, [params.get(n, "") for n in REQUEST_PARAMETERS]])
        return hmac.new(self._key, bound.encode(), hashlib.sha256).hexdigest()

    def token(self, cookie: str, params: dict[str, str]) -> str:
        expires = int(time.time()) + CSRF_SECONDS
        return f"{expires}.{self._mac(cookie, expires, params)}"

    def check(self, cookie: str | None, token: str | None, params: dict[str, str]) -> bool:
        if not cookie or not token or "." not in token:
            return False
        expires, _, mac = token.partition(".")
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(mac, self._mac(cookie, int(expires), params))


def _form_action(redirect_uri: str | None) -> str:
    """The CSP `form-action` sources: this page, and the redirect URI's origin (a browser
    applies form-action to the redirect that follows the form, too)."""
    if not redirect_uri:
        return "'self'"
    parts = urlsplit(redirect_uri)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"'self' {parts.scheme}://{parts.netloc}"
    return f"'self' {parts.scheme}:"


def _headers(redirect_uri: str | None = None) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; "
            f"form-action {_form_action(redirect_uri)}; frame-ancestors 'none'; "
            "base-uri 'none'"),
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "Referrer-Policy": "no-referrer",
    }


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body><main>{body}</main></body></html>\n")


def _error_page(message: str, status: int = 400, headers: dict[str, str] | None = None
                ) -> HTMLResponse:
    body = (f"<h1>Cannot sign in</h1><p class=\"error\" role=\"alert\">{html.escape(message)}"
            "</p>")
    return HTMLResponse(_page("Cannot sign in", body), status_code=status,
                        headers={**_headers(), **(headers or {})})


def _form_page(client_name: str, action: str, csrf: str, username: str, error: str | None
               ) -> str:
    alert = (f"<p class=\"error\" role=\"alert\" id=\"problem\">{html.escape(error)}</p>"
             if error else "")
    described = ' aria-describedby="problem"' if error else ""
    return _page(f"Sign in to {client_name}", (
        f"<h1>Sign in to {html.escape(client_name)}</h1>{alert}"
        f"<form method=\"post\" action=\"{html.escape(action)}\">"
        f"<input type=\"hidden\" name=\"csrf_token\" value=\"{html.escape(csrf)}\">"
        "<label for=\"username\">User name</label>"
        f"<input id=\"username\" name=\"username\" autocomplete=\"username\" required"
        f" value=\"{html.escape(username)}\"{described}>"
        "<label for=\"password\">Password</label>"
        "<input id=\"password\" name=\"password\" type=\"password\""
        f" autocomplete=\"current-password\" required{described}>"
        "<button type=\"submit\">Sign in</button></form>"
        "<p>The registry gives this application a token in your name. Sign in only if you "
        "started from it.</p>"))


def signin_routes(issuer: Issuer, database: Database, guard: TokenThrottle,
                  generator: _TokenGenerator) -> list[Route]:
    from api.issuer import _load_client, _Server

    csrf = _Csrf(issuer)
    secure = issuer.settings.issuer.startswith("https://")
    endpoint = issuer.authorization_endpoint

    async def validated(request: Request, items: list[tuple[str, str]]
                        ) -> tuple[_Server, _AuthorizeRequest, Any] | Response:
        """authlib's grant for a valid request; else the error page, or the redirect to a
        redirect URI that is the client's."""
        if any(len(value) > MAX_FIELD for _, value in items):
            return _error_page("A parameter of the authorization request is too long.")
        client_id = next((value for name, value in items if name == "client_id"), None)
        server = _Server(generator, await _load_client(database, client_id), database)
        try:
            oauth_request = _AuthorizeRequest(request.method, endpoint, request.headers, items)
            grant = server.get_consent_grant(oauth_request)
        except OAuth2Error as error:
            if error.redirect_uri:
                status, _, headers = error()
                return Response(status_code=status, headers={**dict(headers),
                                                             **_headers(error.redirect_uri)})
            return _error_page(f"The authorization request is not valid: "
                               f"{error.description or error.error}")
        return server, oauth_request, grant

    def show_form(request: Request, server: _Server, grant: Any, cookie: str, *,
                  username: str = "", error: str | None = None, status: int = 200
                  ) -> HTMLResponse:
        params = dict(grant.request.payload.data)
        action = "/oauth/authorize?" + urlencode(
            [(n, params[n]) for n in REQUEST_PARAMETERS if n in params])
        name = grant.request.client.row.name
        response = HTMLResponse(
            _form_page(name, action, csrf.token(cookie, params), username, error),
            status_code=status, headers=_headers(grant.redirect_uri))
        response.set_cookie(COOKIE, cookie, max_age=CSRF_SECONDS, path="/oauth/authorize",
                            secure=secure, httponly=True, samesite="strict")
        return response

    async def authorize(request: Request) -> Response:
        items = parse_qsl(request.url.query, keep_blank_values=True)
        found = await validated(request, items)
        if isinstance(found, Response):
            return found
        server, _, grant = found
        if request.method == "GET":
            cookie = request.cookies.get(COOKIE) or secrets.token_urlsafe(32)
            return show_form(request, server, grant, cookie)
        return await sign_in(request, server, grant)

    async def sign_in(request: Request, server: _Server, grant: Any) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return _error_page(BAD_FORM)
        try:
            form = dict(parse_qsl((await request.body()).decode("utf-8"),
                                  keep_blank_values=True))
        except UnicodeDecodeError:
            return _error_page(BAD_FORM)
        cookie = request.cookies.get(COOKIE)
        params = dict(grant.request.payload.data)
        if not csrf.check(cookie, form.get("csrf_token"), params):
            return _error_page(BAD_FORM)
        assert cookie is not None
        username = form.get("username", "")[:200]
        password = form.get("password", "")
        address = request.client.host if request.client else None
        counted = "user:" + username
        try:
            if wait := await guard.retry_after(counted, address):
                return _error_page(THROTTLED, 429, {"Retry-After": str(wait)})
            async with guard.slot():
                if wait := await guard.retry_after(counted, address):
                    return _error_page(THROTTLED, 429, {"Retry-After": str(wait)})
                user = None
                if username and password:
                    async with database.session() as session:
                        user = await verify_user(session, username, password)
                else:
                    await guard.failed(counted, address)
                    return show_form(request, server, grant, cookie, username=username,
                                     error=FAILED, status=401)
            if user is None or not admits(grant.request.client.row, user):
                await guard.failed(counted, address)
                log.info("sign-in refused for client %s", grant.request.client.client_id)
                return show_form(request, server, grant, cookie, username=username,
                                 error=FAILED, status=401)
        except Busy:
            return _error_page(BUSY, 503, {"Retry-After": str(BUSY_RETRY_AFTER)})
        except StorageError:
            log.warning("sign-in: the failure counts in Redis are unreachable")
            return _error_page(BUSY, 503, {"Retry-After": str(BUSY_RETRY_AFTER)})
        signed = SignedIn(user, new_grant_id())
        response: Response = server.create_authorization_response(
            grant.request, grant_user=signed, grant=grant)
        if server.pending_codes:
            await save_codes(database, server.pending_codes)
        for name, value in _headers(grant.redirect_uri).items():
            response.headers[name] = value
        log.info("signed in through client %s", grant.request.client.client_id)
        return response

    return [Route("/oauth/authorize", authorize, methods=["GET", "POST"])]

