"""The policy console driven as a person drives it (tests/browser/test_policy_console.py and
the README's screenshots, tests/browser/console_screenshots.py): its people, a registry
with the console's client, signing in and out, finding what a screen shows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver import Chrome
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from api.clients import ensure_console_client
from api.users import add_user
from db.engine import Database
from tests.served import ServedRegistry

ALICE = ("security.alice", "alice keeps the policies")
BOB = ("security.bob", "bob approves the changes")
AUDITOR = ("auditor.one", "the auditor reads along")
CLERK = ("clerk.dongcheng", "the clerk only registers")
PEOPLE = {ALICE[0]: ("security_admin", "REG-110000"), BOB[0]: ("security_admin", "REG-110000"),
          AUDITOR[0]: ("auditor", "REG-110000"), CLERK[0]: ("registry_clerk", "REG-110101")}
POLICY = "auditor.reads-audit-trail"
CLERK_READS_AUDIT = "{ auditEvents(first: 1) { totalCount } }"
WAIT = 30  # generous: the whole suite may run beside it on two CPUs
FOUR_EYES = {"REGISTRY_POLICY_APPROVERS": "2"}


def people_and_console(directory: Path, issuer: str) -> None:
    asyncio.run(_people_and_console(directory / "registry.db", issuer))


async def _people_and_console(path: Path, issuer: str) -> None:
    """What `registry db upgrade` and `registry user add` make, on the served database (its
    port, so its issuer, is known only once it serves)."""
    database = Database(f"sqlite:///{path}")
    try:
        async with database.session() as session:
            assert await ensure_console_client(session, issuer)
            for sub, password in (ALICE, BOB, AUDITOR, CLERK):
                role, agency = PEOPLE[sub]
                await add_user(session, sub=sub, role=role, password=password,
                               agency_code=agency)
            await session.commit()
    finally:
        await database.dispose()


def clerk_request(registry: ServedRegistry) -> dict[str, Any]:
    token = registry.token(CLERK[0], "registry_clerk", "REG-110101")
    answer: dict[str, Any] = httpx.post(f"{registry.base_url}/graphql",
                                        json={"query": CLERK_READS_AUDIT},
                                        headers={"Authorization": f"Bearer {token}"}).json()
    return answer


def until(browser: Chrome, found: Callable[[Chrome], Any]) -> Any:
    # The page redraws as answers arrive: an element found may be replaced before it is read.
    return WebDriverWait(browser, WAIT, ignored_exceptions=(StaleElementReferenceException,)
                         ).until(found)


def element(browser: Chrome, css: str, text: str | None = None) -> WebElement:
    """The first element matching `css` (holding `text`), once it is there and shown."""
    def find(b: Chrome) -> WebElement | bool:
        for candidate in b.find_elements(By.CSS_SELECTOR, css):
            if candidate.is_displayed() and (text is None or text in candidate.text):
                return candidate
        return False
    found: WebElement = until(browser, find)
    return found


def sign_in(browser: Chrome, registry: ServedRegistry, person: tuple[str, str],
            route: str = "") -> None:
    browser.get(f"{registry.base_url}/console/{route}")
    element(browser, "#sign-in").click()
    element(browser, "#password")
    assert browser.title == "Sign in to Policy console"
    browser.find_element(By.ID, "username").send_keys(person[0])
    browser.find_element(By.ID, "password").send_keys(person[1])
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    element(browser, "#signed-in-as", f"Signed in as {person[0]}")
    # Back on the console, the code and state gone from the address; no token stored.
    assert browser.current_url.startswith(f"{registry.base_url}/console/#/")
    assert "code=" not in browser.current_url
    assert browser.execute_script("return localStorage.length + sessionStorage.length") == 0


def sign_out(browser: Chrome) -> None:
    element(browser, "#sign-out").click()
    element(browser, "#sign-in")


def go(browser: Chrome, link: str) -> None:
    element(browser, "nav a", link).click()
    element(browser, "main h1", link)


def replace_document(browser: Chrome, text: str) -> None:
    area = element(browser, "#document")
    area.click()
    ActionChains(browser).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
    browser.execute_cdp_cmd("Input.insertText", {"text": text})  # one paste


def approve_pending(browser: Chrome, uid: str) -> WebElement:
    go(browser, "Pending changes")
    card = element(browser, "article.change", uid)
    card.find_element(By.CSS_SELECTOR, "button.approve").click()
    return card
