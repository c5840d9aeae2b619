"""graphql-http's audit suite (`auditServer`, the npm package pinned in
tests/graphql_over_http/package-lock.json) against `registry serve`: every MUST and every
SHOULD audit passes, and so does every MAY except the three about queries over GET, which
the registry refuses on purpose (CONTRACT.md §2: "no queries over GET"; a GET can be sent
by a link or an image tag, and its URL lands in logs and histories).

Node.js and npm come with the machine; `npm ci` installs the pinned packages into
tests/graphql_over_http/node_modules when they are missing or stale. Where node is not
installed the test is skipped with that reason, and fails instead under `REQUIRE_NODE=1`
(set by .ci/run)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.served import served_registry

AUDIT = Path(__file__).parents[1] / "graphql_over_http"
REQUIRE_NODE = os.environ.get("REQUIRE_NODE") == "1"
# The MAY audits that send a query over GET: refused (405) on purpose, see above.
REFUSED_ON_PURPOSE = {
    "5A70": "MAY accept application/x-www-form-urlencoded formatted GET requests",
    "D6D5": "MAY allow URL-encoded JSON string {variables} parameter in GETs when "
            "accepting application/graphql-response+json",
    "6A70": "MAY allow URL-encoded JSON string {variables} parameter in GETs when "
            "accepting application/json",
}


def node_and_npm() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        reason = "the graphql-http audit needs Node.js and npm (Debian: apt-get install nodejs npm)"
        if REQUIRE_NODE:
            pytest.fail(f"REQUIRE_NODE=1 but {reason}")
        pytest.skip(reason)
    return node, npm


def _installed_as_locked() -> bool:
    locked = json.loads((AUDIT / "package-lock.json").read_text())["packages"]
    for path, entry in locked.items():
        if not path:
            continue
        manifest = AUDIT / path / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text())["version"] != entry["version"]:
            return False
    return True


def npm_ci(npm: str) -> None:
    """`npm ci` from the lock file unless node_modules already holds exactly what it pins;
    one process at a time (pytest-xdist workers share the folder)."""
    with open(Path(tempfile.gettempdir()) / "registry-graphql-over-http-npm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed_as_locked():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=AUDIT, check=True,  # noqa: S603
                           capture_output=True, timeout=300)
        assert _installed_as_locked()


def test_the_graphql_over_http_audit_passes_every_must_and_should(tmp_path: Path) -> None:
    node, npm = node_and_npm()
    npm_ci(npm)
    with served_registry(tmp_path) as registry:
        run = subprocess.run(  # noqa: S603
            [node, "audit.mjs", f"{registry.base_url}/graphql"], cwd=AUDIT,
            env={**os.environ, "REGISTRY_AUDIT_TOKEN": registry.token(
                "portal.developer", "registry_clerk", "REG-110101")},
            capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    results: list[dict[str, Any]] = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(results) > 50, run.stdout  # the suite ran, not an empty list
    failed = {r["id"]: r for r in results if r["status"] != "ok"}
    assert set(failed) == set(REFUSED_ON_PURPOSE), json.dumps(
        [r for r in failed.values() if r["id"] not in REFUSED_ON_PURPOSE], indent=1)
    for audit_id, name in REFUSED_ON_PURPOSE.items():
        assert failed[audit_id]["name"] == name
        assert failed[audit_id]["status"] == "notice"  # a MAY
        assert failed[audit_id]["responseStatus"] == 405
    musts = [r for r in results if r["name"].startswith("MUST")]
    shoulds = [r for r in results if r["name"].startswith("SHOULD")]
    assert musts and shoulds
