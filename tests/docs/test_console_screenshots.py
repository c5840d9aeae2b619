"""The README's screenshots of the policy console (tests/browser/console_screenshots.py takes
them): each one the README shows is in docs/, a PNG of a 1366x768 laptop screen, and small;
none lies there unused."""

from __future__ import annotations

import re
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOWN = re.findall(r"!\[[^\]]+\]\((docs/console-[a-z-]+\.png)\)",
                   (ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_shows_each_screen_of_the_console() -> None:
    assert sorted(SHOWN) == sorted(f"docs/console-{screen}.png" for screen in (
        "policies", "editor", "pending", "history", "explain", "audit"))
    assert sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("console-*.png")
                  ) == sorted(SHOWN)


def test_each_screenshot_is_a_small_png_of_a_laptop_screen() -> None:
    total = 0
    for shown in SHOWN:
        data = (ROOT / shown).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", shown
        assert struct.unpack(">II", data[16:24]) == (1366, 768), shown
        assert len(data) < 100 * 1024, shown
        total += len(data)
    assert total < 400 * 1024
