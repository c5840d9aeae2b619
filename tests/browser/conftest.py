"""A real headless Chromium for the tests of what a browser does with the API (STYLE.md
§15): Debian's `chromium` and `chromium-driver` (`/usr/bin/chromium`, `/usr/bin/chromedriver`),
driven with selenium; no browser is ever downloaded. `make test` and .ci/run install the
packages where they are missing and may (as root); elsewhere the tests skip with that
reason, and `REQUIRE_BROWSER=1` (set by .ci/run) turns the skip into a failure.

The browser reaches loopback addresses only: every other host name fails to resolve, and
every other address goes to a proxy that is not there. One browser per test module; a
failed test leaves a screenshot whose path its report shows.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver import Chrome
from selenium.webdriver.chrome.service import Service

CHROMIUM = os.environ.get("REGISTRY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("REGISTRY_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
# A failed test's screenshots: the page as the test left it, and (tests that take them) each
# screen the test went through, under var/ of the checkout.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "browser-failures"

FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-quic", "--window-size=1400,900",
    # Loopback only: host names other than localhost do not resolve, and any other address
    # is sent to a proxy on the discard port (Chromium never proxies loopback addresses).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
)


def _require_chromium() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        reason = (f"browser tests need {' and '.join(missing)}: Debian's chromium and "
                  "chromium-driver (`make test` installs them when run as root; else "
                  "`apt-get install chromium chromium-driver`)")
        if REQUIRE_BROWSER:
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chrome]:
    """Headless Chromium with a fresh profile, for one test module."""
    _require_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(20)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    driver = getattr(item, "funcargs", {}).get("browser")
    if report.when == "call" and report.failed and driver is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{item.name}.png"
        driver.save_screenshot(str(path))
        report.sections.append(("browser", f"screenshot: {path}"))
        screens: Screens | None = getattr(item, "funcargs", {}).get("screens")
        if screens is not None and screens.taken:
            report.sections.append(("browser", f"screens: {screens.save(SCREENSHOTS / item.name)}"))


class Screens:
    """The screens a test went through, kept in memory (PNG) and written only when the test
    fails (`pytest_runtest_makereport`), so the failure can be followed screen by screen."""

    def __init__(self, driver: Chrome) -> None:
        self.driver = driver
        self.taken: list[tuple[str, bytes]] = []

    def shot(self, name: str) -> None:
        self.taken.append((name, self.driver.get_screenshot_as_png()))

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        for number, (name, png) in enumerate(self.taken, 1):
            (directory / f"{number:02d}-{name}.png").write_bytes(png)
        return directory


@pytest.fixture
def screens(browser: Chrome) -> Screens:
    return Screens(browser)


@contextmanager
def page_server(html: str) -> Iterator[str]:
    """A web server on a port of its own (so an origin of its own) that answers every GET
    with `html`; yields its origin, e.g. http://127.0.0.1:40123."""
    body = html.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
