"""A lawyer signs in through a firm's browser app in Chromium (issue 15, items 1 and 4): the
app (a page on an origin of its own, a public client) sends her to the registry's sign-in
page with a PKCE challenge made by WebCrypto, she signs in, the registry sends her back
with a code, the page exchanges it (with its verifier, no secret) and submits a DEFENSE
inquiry in a case where she is registered counsel, with her own token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from api.clients import create_client
from api.users import add_user
from db.engine import Database
from tests.browser.conftest import page_server
from tests.served import ServedRegistry, served_registry

LAWYER = "lawyer.chen"
PASSWORD = "a lawyer signs in herself"
FIRM = "LAW-110101"
POLICE = ("police.dongcheng", "police_officer", "PSB-110101")
CASE = "(2026) Jing Dong Gong Xing Li No. 900"
SUSPECT = "110101200801010019"

# The firm's app: `start` sends the browser to the sign-in page; back with a code, the page
# exchanges it and submits the inquiry, and shows what came back in #result.
APP = """<!doctype html><html lang="en"><title>Zhang Law Portal</title>
<p id="status">ready</p><pre id="result"></pre>
<script>
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));
async function start(cfg) {
  const verifier = random(48), state = random(16);
  const challenge = b64url(await crypto.subtle.digest("SHA-256",
                                                     new TextEncoder().encode(verifier)));
  sessionStorage.setItem("signin", JSON.stringify({...cfg, verifier, state}));
  location.assign(cfg.registry + "/oauth/authorize?" + new URLSearchParams({
    response_type: "code", client_id: cfg.clientId, redirect_uri: cfg.redirectUri,
    state, code_challenge: challenge, code_challenge_method: "S256"}));
}
async function finish() {
  const cfg = JSON.parse(sessionStorage.getItem("signin"));
  const back = new URLSearchParams(location.search);
  const show = (value) => { document.getElementById("result").textContent =
                              JSON.stringify(value); };
  if (back.get("state") !== cfg.state) return show({error: "state does not match"});
  const token = await (await fetch(cfg.registry + "/oauth/token", {method: "POST",
    body: new URLSearchParams({grant_type: "authorization_code", code: back.get("code"),
      redirect_uri: cfg.redirectUri, client_id: cfg.clientId,
      code_verifier: cfg.verifier})})).json();
  if (!token.access_token) return show({error: token});
  const answer = await (await fetch(cfg.registry + "/graphql", {method: "POST",
    headers: {"Authorization": "Bearer " + token.access_token,
              "Content-Type": "application/json"},
    body: JSON.stringify({query: cfg.query, variables: cfg.variables})})).json();
  show({answer, refreshed: Boolean(token.refresh_token),
        claims: JSON.parse(atob(token.access_token.split(".")[1]
                                .replace(/-/g, "+").replace(/_/g, "/")))});
}
if (new URLSearchParams(location.search).has("code")) finish();
</script></html>"""

SUBMIT = """mutation Submit($input: SubmitInquiryInput!) {
  submitInquiry(input: $input) { purpose status requester caseNumber } }"""


@pytest.fixture(scope="module")
def firm_app() -> Iterator[str]:
    with page_server(APP) as origin:
        yield origin


@pytest.fixture(scope="module")
def registry(firm_app: str, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[ServedRegistry, str]]:
    """The registry, with the lawyer, the firm's public client and a case in which the
    lawyer is counsel of the suspect; and the client's id."""
    directory = tmp_path_factory.mktemp("signin")
    with served_registry(directory, {"REGISTRY_CORS_ORIGINS": firm_app}) as served:
        client_id = asyncio.run(_people_and_client(directory / "registry.db", firm_app))
        police = served.token(*POLICE)
        for query, variables in (
                ("mutation R($input: RegisterCaseInput!) { registerCase(input: $input) "
                 "{ caseNumber } }",
                 {"input": {"caseNumber": CASE, "stage": "INVESTIGATION",
                            "parties": [{"idNumber": SUSPECT, "role": "SUSPECT"}]}}),
                ("mutation C($c: String!, $l: String!, $s: String!) { "
                 "registerDefenseCounsel(caseNumber: $c, lawyer: $l, suspectIdNumber: $s) }",
                 {"c": CASE, "l": LAWYER, "s": SUSPECT})):
            answer = httpx.post(f"{served.base_url}/graphql",
                                json={"query": query, "variables": variables},
                                headers={"Authorization": f"Bearer {police}"}).json()
            assert "errors" not in answer, answer
        yield served, client_id


async def _people_and_client(path: Path, firm_app: str) -> str:
    database = Database(f"sqlite:///{path}")
    try:
        async with database.session() as session:
            await add_user(session, sub=LAWYER, role="defense_lawyer", password=PASSWORD,
                           agency_code=FIRM)
            client_id, secret = await create_client(
                session, name="Zhang Law Portal", role="defense_lawyer", agency_code=FIRM,
                redirect_uris=[firm_app + "/app"], public=True)
            await session.commit()
        assert secret is None
        return client_id
    finally:
        await database.dispose()


def test_a_lawyer_signs_in_through_the_firms_page_and_submits_a_defense_inquiry(
        browser: Chrome, firm_app: str, registry: tuple[ServedRegistry, str]) -> None:
    served, client_id = registry
    browser.get(f"{firm_app}/app")
    browser.execute_script("start(arguments[0])", {
        "registry": served.base_url, "clientId": client_id, "redirectUri": f"{firm_app}/app",
        "query": SUBMIT, "variables": {"input": {
            "purpose": "DEFENSE", "subjectIdNumber": SUSPECT, "caseNumber": CASE}}})
    wait = WebDriverWait(browser, 20)
    wait.until(lambda b: b.find_elements(By.ID, "password"))
    assert browser.title == "Sign in to Zhang Law Portal"
    assert browser.current_url.startswith(f"{served.base_url}/oauth/authorize?")
    browser.find_element(By.ID, "username").send_keys(LAWYER)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda b: b.find_element(By.ID, "result").text if
               b.current_url.startswith(firm_app) and b.find_elements(By.ID, "result")
               else False)
    result: dict[str, Any] = json.loads(browser.find_element(By.ID, "result").text)
    assert "error" not in result, result
    assert result["answer"]["data"] == {"submitInquiry": {
        "purpose": "DEFENSE", "status": "APPROVED", "requester": LAWYER, "caseNumber": CASE}}, \
        result
    assert result["refreshed"] is True
    claims = result["claims"]
    assert (claims["sub"], claims["role"], claims["agency"], claims["client_id"]) == (
        LAWYER, "defense_lawyer", FIRM, client_id)


def test_a_wrong_password_in_the_browser_keeps_her_on_the_sign_in_page(
        browser: Chrome, firm_app: str, registry: tuple[ServedRegistry, str]) -> None:
    served, client_id = registry
    browser.get(f"{firm_app}/app")
    browser.execute_script("start(arguments[0])", {
        "registry": served.base_url, "clientId": client_id, "redirectUri": f"{firm_app}/app",
        "query": SUBMIT, "variables": {}})
    wait = WebDriverWait(browser, 20)
    wait.until(lambda b: b.find_elements(By.ID, "password"))
    browser.find_element(By.ID, "username").send_keys(LAWYER)
    browser.find_element(By.ID, "password").send_keys("not her password")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "[role=alert]"))
    assert browser.current_url.startswith(f"{served.base_url}/oauth/authorize?")
    assert "not right" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
