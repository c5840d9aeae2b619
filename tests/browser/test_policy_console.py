"""The policy console in Chromium (issue 15, items 3 and 4): security staff sign in at
/console/ as the public client `registry-console` (authorization code + PKCE), and with
REGISTRY_POLICY_APPROVERS=2 one admin proposes a change (seeing what it flips and widens),
cannot approve it herself (the API's refusal is shown), a second admin approves it, the
clerk's next GraphQL request obeys it, and the change is rolled back the same way. Someone
the policies do not let write policies sees no editing.

One registry for the module (`registry serve` on a fresh SQLite database); each test's
screens are kept and written under var/browser-failures/ when it fails."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.conftest import Screens
from tests.browser.console_pages import (
    ALICE,
    AUDITOR,
    BOB,
    CLERK,
    FOUR_EYES,
    POLICY,
    approve_pending,
    clerk_request,
    element,
    go,
    people_and_console,
    replace_document,
    sign_in,
    sign_out,
    until,
)
from tests.served import ServedRegistry, served_registry


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRegistry]:
    directory = tmp_path_factory.mktemp("console")
    with served_registry(directory, FOUR_EYES) as served:
        people_and_console(directory, served.base_url)
        yield served


def test_two_admins_change_a_policy_the_clerk_obeys_it_and_they_roll_it_back(
        browser: Chrome, registry: ServedRegistry, screens: Screens) -> None:
    refused = clerk_request(registry)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused

    # Admin A finds the policy, reads it, and edits it in the editor.
    sign_in(browser, registry, ALICE)
    element(browser, "main h1", "Policies")
    element(browser, "#policy-filter").send_keys("reads-audit-trail")
    element(browser, "#policy-count", "1 of")
    screens.shot("policies")
    element(browser, "main table a", POLICY).click()
    element(browser, "main h1", f"Policy {POLICY}")
    screens.shot("policy")
    element(browser, "a.button", "Edit this policy").click()
    element(browser, "#preview-summary", "UPDATE")  # the unchanged document, checked
    element(browser, "#unchanged")
    assert not browser.find_element(By.ID, "propose").is_enabled()

    assert element(browser, "nav a[aria-current=page]").text == "Policies"
    document = json.loads(element(browser, "#document").get_attribute("value") or "")

    # Text that is not JSON is named before anything is sent, with where it goes wrong.
    replace_document(browser, '{"uid": "x",}')
    broken = element(browser, "#problems .problem", "not valid JSON")
    assert "character 13" in broken.text, broken.text
    assert element(browser, "#document").get_attribute("aria-invalid") == "true"
    assert not browser.find_element(By.ID, "propose").is_enabled()

    # A typo is pointed at its path, as the API names it; nothing can be proposed.
    document["rules"]["subject"] = {"$.rol": {"condition": "Equals", "value": "auditor"}}
    replace_document(browser, json.dumps(document, indent=2))
    problem = element(browser, "#problems .problem", "policy.rules.subject.$.rol")
    assert "unknown subject attribute 'rol'" in problem.text
    assert not browser.find_element(By.ID, "propose").is_enabled()
    problem.find_element(By.TAG_NAME, "button").click()
    selected = browser.execute_script(
        "const t = document.getElementById('document');"
        "return t.value.slice(t.selectionStart, t.selectionEnd)")
    assert selected.startswith('"$.rol"'), selected

    # The change: clerks read the audit trail too. Its flips and what it widens show.
    document["rules"]["subject"] = {"$.role": {"condition": "IsIn",
                                               "values": ["auditor", "registry_clerk"]}}
    replace_document(browser, json.dumps(document, indent=2))
    widens = element(browser, ".widens", "registry_clerk: audit:read")
    assert "registry_clerk: audit:read" in [li.text for li in
                                            widens.find_elements(By.TAG_NAME, "li")]
    flips = browser.find_elements(By.CSS_SELECTOR, "#preview tr.flip")
    assert flips and all("clerk" in row.text for row in flips), [r.text for r in flips]
    screens.shot("editor")
    element(browser, "#propose").click()
    assert "waits for 1 approval" in element(browser, "#proposed").text

    # She cannot approve her own change: the console shows the API's refusal.
    card = approve_pending(browser, POLICY)
    refusal = element(browser, "article.change .api-error")
    assert "the proposer of a change cannot approve it" in refusal.text
    assert "OWN_CHANGE" in refusal.text
    assert "security.alice" in card.text and "(your own)" in card.text
    screens.shot("pending-own")
    assert "errors" in clerk_request(registry)  # not in force

    # Admin B approves it; the clerk's next request obeys it.
    sign_out(browser)
    sign_in(browser, registry, BOB)
    approve_pending(browser, POLICY)
    element(browser, "article.change .notice", "is now APPLIED")
    screens.shot("approved")
    allowed = clerk_request(registry)
    assert "errors" not in allowed and allowed["data"]["auditEvents"]["totalCount"] >= 0, allowed

    # B rolls it back (version 1 comes back as version 3, once A approves).
    browser.get(f"{registry.base_url}/console/#/policy/{POLICY}")
    element(browser, "#history-heading", "2 versions")
    diff = element(browser, "#diff pre")
    assert any("registry_clerk" in line.text for line in
               diff.find_elements(By.CSS_SELECTOR, ".add")), diff.text
    screens.shot("history")
    element(browser, "button.rollback", "Roll back to version 1").click()
    # First what the rollback would do: the clerk loses the audit trail again.
    confirm = element(browser, "#confirm", "Rollback to version 1")
    flips = confirm.find_elements(By.CSS_SELECTOR, "tr.flip")
    assert flips and all("clerk" in row.text for row in flips), [row.text for row in flips]
    assert "Widens nothing" in confirm.text
    element(browser, "#confirm-proposal").click()
    assert "waits for 1 approval" in element(browser, "#proposed").text
    sign_out(browser)
    sign_in(browser, registry, ALICE)
    approve_pending(browser, POLICY)
    element(browser, "article.change .notice", "is now APPLIED")
    assert clerk_request(registry)["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    # The trail of the changes, and the decision explained.
    go(browser, "Audit trail")
    trail = element(browser, "#change-trail tbody")
    rows = [row.text for row in trail.find_elements(By.TAG_NAME, "tr")]
    assert len(rows) == 2 and all("APPLIED" in row for row in rows), rows
    assert "ROLLBACK" in rows[0] and "security.bob" in rows[0] and "security.alice" in rows[0]
    screens.shot("audit")
    go(browser, "Explain a decision")
    action = element(browser, "#explain-action")
    action.clear()
    action.send_keys("audit:read")
    resource = browser.find_element(By.ID, "explain-resource")
    resource.clear()
    resource.send_keys('{"type": "audit", "id": "*"}')
    browser.find_element(By.ID, "explain").click()
    assert element(browser, "#decision").text.startswith("Denied")
    screens.shot("explain")

    # A new policy from the editor's template, proposed, then withdrawn by its proposer.
    go(browser, "New policy")
    document = json.loads(element(browser, "#document").get_attribute("value") or "")
    document.update(uid="clerk.no-judgment-reads", description="Clerks read no judgment.")
    replace_document(browser, json.dumps(document, indent=2))
    element(browser, "#preview-summary", "CREATE of clerk.no-judgment-reads")
    assert browser.find_elements(By.CSS_SELECTOR, "#preview tr.flip")
    element(browser, "#propose").click()
    assert "waits for 1 approval" in element(browser, "#proposed").text
    go(browser, "Pending changes")
    card = element(browser, "article.change", "clerk.no-judgment-reads")
    card.find_element(By.CSS_SELECTOR, "input").send_keys("Proposed by mistake.")
    card.find_element(By.CSS_SELECTOR, "button.reject").click()
    element(browser, "article.change .notice", "is now REJECTED")
    go(browser, "Audit trail")
    element(browser, "#change-trail", "Proposed by mistake.")

    # A deletion is previewed first; one the registry would refuse cannot be proposed.
    browser.get(f"{registry.base_url}/console/#/policy/security-admin.manages-policies")
    element(browser, "#propose-deletion").click()
    assert "LOCKS_OUT_POLICY_WRITERS" in element(browser, "#confirm", "would refuse").text
    assert not browser.find_element(By.ID, "confirm-proposal").is_enabled()
    screens.shot("deletion-refused")


def test_an_auditor_reads_the_policies_but_is_offered_no_editing(
        browser: Chrome, registry: ServedRegistry, screens: Screens) -> None:
    sign_in(browser, registry, AUDITOR)
    links = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "nav a")]
    assert links == ["Policies", "Pending changes", "Explain a decision", "Audit trail"]
    element(browser, "main table a", POLICY).click()
    element(browser, "main h1", f"Policy {POLICY}")
    screens.shot("policy")
    assert not browser.find_elements(By.CSS_SELECTOR, "main a.button, main button")
    browser.get(f"{registry.base_url}/console/#/edit/{POLICY}")
    element(browser, "main h1", "Editing policies")
    assert not browser.find_elements(By.ID, "document")
    go(browser, "Audit trail")
    element(browser, "#events-heading")
    screens.shot("audit")
    sign_out(browser)


def test_a_clerk_who_signs_in_sees_no_policy_at_all(
        browser: Chrome, registry: ServedRegistry, screens: Screens) -> None:
    sign_in(browser, registry, CLERK)
    element(browser, "main h1", "Nothing to do here")
    screens.shot("clerk")
    assert browser.find_element(By.ID, "nav").get_attribute("hidden") is not None
    assert not browser.find_elements(By.CSS_SELECTOR, "main table, main textarea")
    sign_out(browser)


def test_tokens_stay_in_memory_and_each_refresh_token_is_used_once(
        browser: Chrome, registry: ServedRegistry, screens: Screens) -> None:
    sign_in(browser, registry, AUDITOR)
    # The console's own modules (the page's instances: one module map per page).
    result = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        (async () => {
          const auth = await import("/console/auth.js");
          const api = await import("/console/api.js");
          const first = auth.accessToken();
          await Promise.all([auth.refresh(), auth.refresh()]);  // one request, not two
          const second = auth.accessToken();
          await auth.refresh();  // with the rotated token: the grant is still good
          const answer = await api.gql("{ me { sub } }");
          return {renewed: first !== second && second !== auth.accessToken(),
                  sub: answer.me.sub, signedIn: auth.signedIn(),
                  stored: localStorage.length + sessionStorage.length + document.cookie.length,
                  loaded: performance.getEntriesByType("resource").map((e) => e.name)};
        })().then(done, (error) => done({error: String(error)}));""")
    assert "error" not in result, result
    assert result["renewed"] and result["signedIn"] and result["sub"] == AUDITOR[0], result
    assert result["stored"] == 0
    assert all(url.startswith(f"{registry.base_url}/") for url in result["loaded"]), \
        result["loaded"]
    sign_out(browser)


def focused_heading(browser: Chrome, text: str) -> None:
    """Waits until the focus is on the main heading reading `text` (set once the screen
    has its data: the heading shown while loading is replaced)."""
    until(browser, lambda b: b.execute_script(
        "const e = document.activeElement;"
        "return e.tagName === 'H1' && e.closest('main') !== null && e.textContent") == text)


def test_the_console_is_operated_from_the_keyboard(
        browser: Chrome, registry: ServedRegistry, screens: Screens) -> None:
    sign_in(browser, registry, AUDITOR)
    focused_heading(browser, "Policies")  # a new screen: the focus on its heading
    for _ in range(20):
        ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT
                                                                            ).perform()
        if browser.switch_to.active_element.text == "Explain a decision":
            break
    link = browser.switch_to.active_element
    assert link.text == "Explain a decision" and link.tag_name == "a"
    assert browser.execute_script(
        "return getComputedStyle(document.activeElement).outlineStyle") == "solid"
    link.send_keys(Keys.ENTER)
    focused_heading(browser, "Explain a decision")
    element(browser, "#explain").send_keys(Keys.ENTER)  # the example request, as it is
    assert element(browser, "#decision").text.startswith("Allowed")
    labels = browser.execute_script(
        "return [...document.querySelectorAll('main input, main textarea, main select')]"
        ".map((c) => c.labels.length)")
    assert labels and all(count == 1 for count in labels)
    sign_out(browser)


def test_a_console_opened_at_another_address_than_the_issuer_points_there(
        browser: Chrome, registry: ServedRegistry, screens: Screens) -> None:
    elsewhere = registry.base_url.replace("127.0.0.1", "localhost")
    browser.get(f"{elsewhere}/console/")
    element(browser, "#sign-in").click()
    link = element(browser, "main .notice a")
    assert link.get_attribute("href") == f"{registry.base_url}/console/"
    assert browser.current_url.startswith(elsewhere)
