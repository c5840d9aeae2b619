"""requirements.lock (what the Docker image installs) and pyproject.toml (the ranges a
library user gets) cannot drift apart: every dependency of the project, and what each
extra it asks for adds, is pinned in the lock within the project's range, with hashes."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def locked() -> dict[str, tuple[Version, int]]:
    """Each package of the lock: its pinned version and how many hashes it carries."""
    pins: dict[str, tuple[Version, int]] = {}
    current: str | None = None
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        pin = PIN.match(line)
        if pin:
            current = canonicalize_name(pin.group(1))
            pins[current] = (Version(pin.group(2)), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
        elif not line.startswith(" "):
            current = None
    return pins


def direct_dependencies() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(spec) for spec in project["dependencies"]]


def test_every_dependency_is_locked_within_the_range_of_pyproject() -> None:
    pins = locked()
    wrong = [f"{r}: {pins.get(canonicalize_name(r.name), ('missing',))[0]}"
             for r in direct_dependencies()
             if canonicalize_name(r.name) not in pins
             or pins[canonicalize_name(r.name)][0] not in r.specifier]
    assert wrong == []


def test_every_package_of_the_lock_carries_a_hash() -> None:
    pins = locked()
    assert len(pins) > len(direct_dependencies())
    assert [name for name, (_, hashes) in pins.items() if hashes == 0] == []


def test_what_the_extras_of_a_dependency_add_is_locked_too() -> None:
    # psycopg[binary] needs psycopg-binary, sqlalchemy[asyncio] needs greenlet: read from
    # the installed distributions' metadata, as pip would.
    pins = locked()
    missing = []
    for requirement in direct_dependencies():
        for extra in requirement.extras:
            for spec in metadata.requires(requirement.name) or []:
                needed = Requirement(spec)
                if needed.marker is not None and needed.marker.evaluate({"extra": extra}) \
                        and canonicalize_name(needed.name) not in pins:
                    missing.append(f"{requirement.name}[{extra}]: {needed.name}")
    assert any(r.extras for r in direct_dependencies())
    assert missing == []
