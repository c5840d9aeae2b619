"""The README's screenshots of the policy console (docs/console-*.png), taken in Debian's
headless Chromium at 1366x768, a laptop screen, on a fresh registry with two approvers:
`.venv/bin/python -m tests.browser.console_screenshots` (it overwrites them). Each is
written with a palette of its 256 most frequent colours (a screen of text and flat colours
has a few thousand, mostly the edges of letters), which makes it less than half the size."""

from __future__ import annotations

import json
import struct
import sys
import tempfile
import zlib
from collections import Counter
from pathlib import Path

from selenium import webdriver
from selenium.webdriver import Chrome
from selenium.webdriver.chrome.service import Service

from tests.browser.conftest import CHROMEDRIVER, CHROMIUM, FLAGS
from tests.browser.console_pages import (
    ALICE,
    AUDITOR,
    BOB,
    FOUR_EYES,
    POLICY,
    approve_pending,
    element,
    go,
    people_and_console,
    replace_document,
    sign_in,
    sign_out,
)
from tests.served import served_registry

DOCS = Path(__file__).resolve().parents[2] / "docs"


def chromium(profile: Path) -> Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        if not flag.startswith("--window-size"):
            options.add_argument(flag)
    options.add_argument("--window-size=1366,768")
    options.add_argument("--hide-scrollbars")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    # The page itself 1366x768, whatever the window around it takes.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": False})
    return driver


def shoot(browser: Chrome, name: str) -> None:
    browser.execute_script("document.activeElement && document.activeElement.blur();"
                           "window.scrollTo(0, 0)")
    path = DOCS / f"console-{name}.png"
    path.write_bytes(with_palette(browser.get_screenshot_as_png()))
    print(f"{path.relative_to(DOCS.parent)}: {path.stat().st_size // 1024} KB")


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        directory = Path(home)
        with served_registry(directory, FOUR_EYES) as registry:
            people_and_console(directory, registry.base_url)
            browser = chromium(directory / "profile")
            try:
                take(browser, registry)
            finally:
                browser.quit()


def take(browser: Chrome, registry: object) -> None:
    sign_in(browser, registry, ALICE)  # type: ignore[arg-type]
    element(browser, "#policy-count")
    shoot(browser, "policies")
    browser.get(f"{registry.base_url}/console/#/edit/{POLICY}")  # type: ignore[attr-defined]
    element(browser, "#preview-summary", "UPDATE")
    document = json.loads(element(browser, "#document").get_attribute("value") or "")
    document["rules"]["subject"] = {"$.role": {"condition": "IsIn",
                                               "values": ["auditor", "registry_clerk"]}}
    replace_document(browser, json.dumps(document, indent=2))
    element(browser, ".widens", "registry_clerk: audit:read")
    shoot(browser, "editor")
    element(browser, "#propose").click()
    element(browser, "#proposed")
    approve_pending(browser, POLICY)
    element(browser, "article.change .api-error", "cannot approve")
    shoot(browser, "pending")
    sign_out(browser)
    sign_in(browser, registry, BOB)  # type: ignore[arg-type]
    approve_pending(browser, POLICY)
    element(browser, "article.change .notice", "is now APPLIED")
    browser.get(f"{registry.base_url}/console/#/policy/{POLICY}")  # type: ignore[attr-defined]
    element(browser, "#diff pre")
    shoot(browser, "history")
    go(browser, "Explain a decision")
    element(browser, "#explain").click()
    element(browser, "#decision")
    shoot(browser, "explain")
    sign_out(browser)
    sign_in(browser, registry, AUDITOR)  # type: ignore[arg-type]
    go(browser, "Audit trail")
    element(browser, "#change-trail tbody tr")
    element(browser, "#events-heading + table tbody tr")
    shoot(browser, "audit")


# --- PNG with a palette ---------------------------------------------------------------------

def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    found, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        found.append((kind, data[at + 8:at + 8 + length]))
        at += 12 + length
    return found


def _rgb_rows(data: bytes) -> tuple[int, int, list[bytes]]:
    """The rows of an 8-bit RGB or RGBA PNG as RGB bytes (filters undone)."""
    found = _chunks(data)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", found[0][1])
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError("an 8-bit, non-interlaced RGB or RGBA PNG is expected")
    raw = zlib.decompress(b"".join(body for kind, body in found if kind == b"IDAT"))
    size = 3 if colour == 2 else 4
    stride = width * size
    rows, above, at = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[at], bytearray(raw[at + 1:at + 1 + stride])
        at += 1 + stride
        for i in range(stride):
            left = line[i - size] if i >= size else 0
            up, corner = above[i], (above[i - size] if i >= size else 0)
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 255
            elif kind == 4:
                guess = left + up - corner
                near = min((abs(guess - left), 0, left), (abs(guess - up), 1, up),
                           (abs(guess - corner), 2, corner))[2]
                line[i] = (line[i] + near) & 255
        rows.append(bytes(line) if size == 3 else
                    b"".join(bytes(line[j:j + 3]) for j in range(0, stride, 4)))
        above = line
    return width, height, rows


def with_palette(data: bytes, colours: int = 256) -> bytes:
    width, height, rows = _rgb_rows(data)
    counts: Counter[bytes] = Counter()
    for row in rows:
        counts.update(row[i:i + 3] for i in range(0, len(row), 3))
    palette = [colour for colour, _ in counts.most_common(colours)]
    index = {colour: n for n, colour in enumerate(palette)}
    for colour in counts:
        if colour not in index:  # the nearest colour of the palette
            index[colour] = min(range(len(palette)), key=lambda n: sum(
                (a - b) ** 2 for a, b in zip(palette[n], colour, strict=True)))
    raw = b"".join(b"\0" + bytes(index[row[i:i + 3]] for i in range(0, len(row), 3))
                   for row in rows)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0))
            + chunk(b"PLTE", b"".join(palette)) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


if __name__ == "__main__":
    sys.exit(main())
