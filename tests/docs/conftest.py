"""The README blocks that are not executed, listed at the end of every run that collects
tests/docs, so that none is skipped silently."""

from __future__ import annotations

from typing import Any

from tests.docs.test_readme_examples import README, parse_readme


def pytest_terminal_summary(terminalreporter: Any) -> None:
    readme = parse_readme(README.read_text(encoding="utf-8"))
    run = sum(example.answer is not None for example in readme.examples)
    terminalreporter.section("README examples")
    terminalreporter.write_line(
        f"{len(readme.examples)} sh blocks run ({run} with a documented answer); "
        f"{len(readme.marked)} blocks not executed:")
    for marked in readme.marked:
        terminalreporter.write_line(f"  README.md:{marked.line} ({marked.section}) "
                                    f"{marked.language}: {marked.reason}")
