"""GraphiQL works without internet access (issue 14 item 2): in a Chromium that reaches
nothing but this machine, the page served at GET /graphql loads every script and style
from the API itself, its headers tab is open and pre-filled with an `Authorization: Bearer`
header to complete, and `{ me { sub } }` typed into it runs with a pasted token."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver import Chrome
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.served import ServedRegistry, served_registry

QUERY_EDITOR = ".graphiql-query-editor"
HEADER_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden)"
RESULT = ".result-window"
# strawberry's own GraphiQL page loads this: a browser on a closed network cannot.
CDN_SCRIPT = "https://unpkg.com/graphiql@3.8.3/graphiql.min.js"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRegistry]:
    with served_registry(tmp_path_factory.mktemp("graphiql")) as served:
        yield served


def editor_text(browser: Chrome, selector: str) -> str:
    text: str = browser.execute_script(
        "return document.querySelector(arguments[0] + ' .CodeMirror').CodeMirror.getValue()",
        selector)
    return text


def select_all_in(browser: Chrome, selector: str) -> None:
    browser.find_element(By.CSS_SELECTOR, f"{selector} .CodeMirror-scroll").click()
    ActionChains(browser).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()


def test_graphiql_runs_a_query_with_no_network_but_the_api(
        browser: Chrome, registry: ServedRegistry) -> None:
    with pytest.raises(WebDriverException, match="net::ERR_"):
        browser.get(CDN_SCRIPT)  # the browser is offline indeed

    browser.get(f"{registry.base_url}/graphql")
    WebDriverWait(browser, 20).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, ".graphiql-execute-button"))
    assert json.loads(editor_text(browser, HEADER_EDITOR)) == {
        "Authorization": "Bearer <paste a token here>"}

    select_all_in(browser, QUERY_EDITOR)
    ActionChains(browser).send_keys("{ me { sub } }").perform()  # typed, key by key
    assert editor_text(browser, QUERY_EDITOR) == "{ me { sub } }"

    token = registry.token("clerk.graphiql", "registry_clerk", "REG-110101")
    select_all_in(browser, HEADER_EDITOR)
    # Pasted, as one inserts a token: a paste is one input event, not 800 key strokes.
    browser.execute_cdp_cmd("Input.insertText",
                            {"text": json.dumps({"Authorization": f"Bearer {token}"})})
    assert json.loads(editor_text(browser, HEADER_EDITOR)) == {"Authorization": f"Bearer {token}"}

    browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
    WebDriverWait(browser, 20).until(lambda b: '"data"' in editor_text(b, RESULT))
    result = json.loads(editor_text(browser, RESULT))
    assert result["data"] == {"me": {"sub": "clerk.graphiql"}}

    # Neither the token nor the query is left in the browser's storage.
    assert browser.execute_script("return localStorage.length + sessionStorage.length") == 0

    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map((entry) => entry.name)")
    assert loaded, "the page loaded no asset"
    assert all(url.startswith(f"{registry.base_url}/") for url in loaded), loaded
    assert {url.rsplit("/", 1)[1] for url in loaded} >= {
        "graphiql.min.js", "graphiql.min.css", "react.production.min.js",
        "react-dom.production.min.js", "registry-graphiql.js", "graphql"}
