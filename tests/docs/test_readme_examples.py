"""Every README example runs, and answers what the README says it answers.

The README's ```sh blocks run in order, section by section, in bash against a fresh demo
registry served as `make run` serves it (`registry db upgrade`, `registry seed --demo`,
`registry serve`), with the demo tokens `registry seed --demo` prints exported and `q`
defined against the served port. The ```json block that follows a command is its
documented answer; the actual answer must have its *shape*: the same keys recursively, the
same list lengths, the same codes, booleans, enums, counts and names. Values that differ on
every run are matched by pattern: opaque ids (`jdg_...`, also substituted into the later
commands that name them), timestamps, certificate numbers, tokens (`eyJ...`), and the keys a comment
`<!-- varies: key ... -->` before the command names (dates relative to today), and set
versions. `…` in a documented answer stands for keys or list items left out.

A ```sh or ```json block that is not run carries `<!-- not executed: reason -->` before it
(docker, npm, the benchmarks, answers shown without their command): they are counted and
listed below, and any other block that is neither run nor marked fails the test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fresh_postgres_database
from tests.live import registry_serve

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
DOCUMENTED_URL = "http://127.0.0.1:8000"
ISSUER = "http://127.0.0.1:8000"  # what the demo tokens name; any fixed issuer would do

# The two-approver registry of "Two people for every change" is a server of its own, on
# PostgreSQL as in production (where two approvers are the default); every other section
# runs, in README order, on one demo registry on SQLite as `make run` serves it, but for
# "Policy administration", which runs first there: it says it ran on a fresh demo database,
# whose one sealed judgment it counts (the "Cases" walk-through adds another). So each
# example runs once, and the walk-throughs run on both databases.
SERVER_OF_SECTION = {"Two people for every change (`REGISTRY_POLICY_APPROVERS`)": "two-approvers"}
RUNS_FIRST = "Policy administration: a security admin changes a rule"
SERVER_SETTINGS = {"demo": {}, "two-approvers": {"REGISTRY_POLICY_APPROVERS": "2"}}

FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
NOT_EXECUTED = re.compile(r"^\s*<!-- not executed: (.+?) -->\s*$")
VARIES = re.compile(r"^\s*<!-- varies: (.+?) -->\s*$")
ANY_ORDER = re.compile(r"^\s*<!-- any order: (.+?) -->\s*$")
OPAQUE_ID = re.compile(r"^[a-z]{3}_[A-Za-z0-9_-]{16}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$")
CERTIFICATE = re.compile(r"^CRC-\d{4}(-[A-Z0-9]{4}){3}$")
JWT = re.compile(r"^eyJ[\w-]+\.eyJ[\w.-]+$")
ELLIPSIS = "…"
# Policy set versions move on with every default policy added: matched as integers.
ALWAYS_VARIES = frozenset({"setVersion", "policyVersion"})


@dataclass
class Example:
    section: str
    line: int
    command: str
    answer: str | None = None
    answer_line: int = 0
    varies: frozenset[str] = frozenset()
    any_order: frozenset[str] = frozenset()


@dataclass
class Marked:
    section: str
    line: int
    language: str
    reason: str


@dataclass
class Readme:
    examples: list[Example] = field(default_factory=list)
    marked: list[Marked] = field(default_factory=list)
    unmarked: list[str] = field(default_factory=list)


@dataclass
class _Block:
    line: int  # the first line of its body
    end: int  # the line after its closing fence
    language: str
    body: str
    section: str
    comments: list[str]


def parse_readme(text: str) -> Readme:
    """The README's sh/json blocks: examples (a command and the answer right after it),
    blocks marked as not executed, and blocks that are neither (an error)."""
    lines = text.splitlines()
    blocks: list[_Block] = []
    section, i = "", 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(("## ", "### ")):
            section = line.lstrip("#").strip()
        fence = FENCE.match(line)
        if fence is None:
            i += 1
            continue
        indent, language = fence.group(1), fence.group(2)
        comments, j = [], i - 1
        while j >= 0 and any(p.match(lines[j]) for p in (NOT_EXECUTED, VARIES, ANY_ORDER)):
            comments.append(lines[j])
            j -= 1
        first, body = i + 2, []
        i += 1
        while not lines[i].strip().startswith("```"):
            body.append(lines[i].removeprefix(indent))
            i += 1
        i += 1
        blocks.append(_Block(first, i, language, "\n".join(body), section, comments))
    readme = Readme()
    answers: set[int] = set()
    for n, block in enumerate(blocks):
        if block.language not in ("sh", "json") or n in answers:
            continue
        answer = blocks[n + 1] if n + 1 < len(blocks) else None
        if answer is not None and not (answer.language == "json"
                                       and _adjacent(lines, block.end, answer.line)):
            answer = None
        reasons = [m.group(1) for c in block.comments if (m := NOT_EXECUTED.match(c))]
        if reasons:
            readme.marked.append(Marked(block.section, block.line, block.language, reasons[0]))
            if block.language == "sh" and answer is not None:
                answers.add(n + 1)
                readme.marked.append(Marked(block.section, answer.line, "json",
                                            "the answer of a command not executed"))
        elif block.language == "json":
            readme.unmarked.append(f"README.md:{block.line} ({block.section}): a json answer "
                                   "with no command before it and no `not executed` mark")
        else:
            varies = frozenset(key for c in block.comments if (m := VARIES.match(c))
                               for key in m.group(1).split())
            any_order = frozenset(key for c in block.comments if (m := ANY_ORDER.match(c))
                                  for key in m.group(1).split())
            example = Example(block.section, block.line, block.body, varies=varies,
                              any_order=any_order)
            if answer is not None:
                answers.add(n + 1)
                example.answer, example.answer_line = answer.body, answer.line
            readme.examples.append(example)
    return readme


def _adjacent(lines: list[str], end: int, next_body_line: int) -> bool:
    """True when only blank lines and the next block's fence lie between two blocks."""
    return all(not line.strip() for line in lines[end:next_body_line - 2])


# --- documented answers --------------------------------------------------------------------

def documented_answers(text: str) -> list[Any]:
    """The JSON documents of a ```json block, `…` turned into a marker the comparison reads:
    a key `"…"` (other keys may follow) in an object, an item `"…"` (more items) in a list."""
    out, stack, in_string, escaped = [], [], False, False
    for ch in text:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append(ch)
        elif ch in "}]":
            stack.pop()
        elif ch == ELLIPSIS:
            out.append('"…": null' if stack and stack[-1] == "{" else '"…"')
            continue
        out.append(ch)
    return _documents("".join(out))


def _documents(text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    documents, position = [], 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return documents
        document, position = decoder.raw_decode(text, position)
        documents.append(document)


@dataclass
class Comparison:
    varies: frozenset[str]
    ids: dict[str, str]
    any_order: frozenset[str] = frozenset()
    problems: list[str] = field(default_factory=list)

    def compare(self, documented: Any, actual: Any, path: str = "$", key: str = "") -> None:
        if isinstance(documented, dict):
            if not isinstance(actual, dict):
                return self.fail(path, f"an object, got {actual!r}")
            open_ended = ELLIPSIS in documented
            keys = set(documented) - {ELLIPSIS}
            missing, extra = keys - set(actual), set(actual) - keys
            if missing or (extra and not open_ended):
                return self.fail(path, f"keys {sorted(keys)}, got {sorted(actual)}")
            for name in documented:
                if name != ELLIPSIS:
                    self.compare(documented[name], actual[name], f"{path}.{name}", name)
        elif isinstance(documented, list):
            if not isinstance(actual, list):
                return self.fail(path, f"a list, got {actual!r}")
            open_ended = bool(documented) and documented[-1] == ELLIPSIS
            items = documented[:-1] if open_ended else documented
            if len(actual) < len(items) or (len(actual) != len(items) and not open_ended):
                return self.fail(path, f"{len(items)} items, got {len(actual)}: {actual!r}")
            if key in self.any_order:
                return self.compare_unordered(items, actual, path, key)
            for n, item in enumerate(items):
                self.compare(item, actual[n], f"{path}[{n}]", key)
        elif key in self.varies:
            if type(actual) is not type(documented) and not (
                    isinstance(documented, (int, float)) and isinstance(actual, (int, float))
                    and not isinstance(actual, bool)):
                self.fail(path, f"a {type(documented).__name__}, got {actual!r}")
        elif isinstance(documented, str):
            self.compare_string(documented, actual, path)
        elif documented != actual or type(documented) is not type(actual):
            self.fail(path, f"{documented!r}, got {actual!r}")

    def compare_unordered(self, items: list[Any], actual: list[Any], path: str, key: str
                          ) -> None:
        """Each documented item matches an actual item of its own, in any order."""
        unused = list(range(len(actual)))
        for n, item in enumerate(items):
            for m in unused:
                trial = Comparison(self.varies, dict(self.ids), self.any_order)
                trial.compare(item, actual[m], f"{path}[{m}]", key)
                if not trial.problems:
                    self.ids.update(trial.ids)
                    unused.remove(m)
                    break
            else:
                self.fail(f"{path}[{n}]", f"{item!r} among {actual!r} (in any order)")

    def compare_string(self, documented: str, actual: Any, path: str) -> None:
        if not isinstance(actual, str):
            return self.fail(path, f"{documented!r}, got {actual!r}")
        if OPAQUE_ID.match(documented) and OPAQUE_ID.match(actual) \
                and documented[:4] == actual[:4]:
            if self.ids.setdefault(documented, actual) != actual and documented != actual:
                self.fail(path, f"{documented} stood for {self.ids[documented]}, got {actual}")
            return
        for pattern in (TIMESTAMP, CERTIFICATE, JWT):
            if pattern.match(documented):
                if not pattern.match(actual):
                    self.fail(path, f"like {documented!r}, got {actual!r}")
                return
        if documented.endswith(ELLIPSIS) and actual.startswith(documented[:-1]):
            return
        if documented.endswith(f"{ELLIPSIS})") and actual.startswith(documented[:-2]):
            return
        if documented != actual:
            self.fail(path, f"{documented!r}, got {actual!r}")

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: expected {message}")


def actual_answers(output: str) -> list[Any]:
    return _documents(output)


def without_cost(documented: Any, actual: Any) -> Any:
    """The answer without its top-level `extensions.cost`, which every answer carries and
    the README shows once ("Limits and abuse"), unless the documented answer shows it."""
    if not isinstance(actual, dict) or not isinstance(actual.get("extensions"), dict):
        return actual
    shown = documented.get("extensions", {}) if isinstance(documented, dict) else {}
    if "cost" in shown:
        return actual
    extensions = {k: v for k, v in actual["extensions"].items() if k != "cost"}
    rest = {k: v for k, v in actual.items() if k != "extensions"}
    return {**rest, "extensions": extensions} if extensions else rest


# --- the registries ------------------------------------------------------------------------

@dataclass
class Registry:
    base_url: str
    home: Path
    environment: dict[str, str]
    tokens: str  # `export TOKEN_...=...` lines printed by `registry seed --demo`


def _environment(home: Path, database_url: str, settings: dict[str, str]) -> dict[str, str]:
    return {"REGISTRY_DATABASE_URL": database_url,
            "REGISTRY_SIGNING_KEY_FILE": str(home / "var" / "signing-key.pem"),
            "REGISTRY_AUDIT_KEYRING_DIR": str(home / "var" / "audit-keys"),
            # The examples run faster than anyone types them: a bottomless rate-limit bucket
            # (the answers' `extensions.cost`, which shows it, is left out of the comparison).
            "REGISTRY_ISSUER": ISSUER, "REGISTRY_RATE_BUCKET": "1000000",
            "REGISTRY_RATE_RESTORE": "1000000", **settings}


def _cli(environment: dict[str, str], home: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    result = subprocess.run([str(BIN / "registry"), *args], env={**env, **environment},  # noqa: S603
                            cwd=home, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"registry {' '.join(args)}: {result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def readme() -> Readme:
    return parse_readme(README.read_text(encoding="utf-8"))


def start(name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """`make run` in a directory of its own: upgrade, the demo seed, serve."""
    home = tmp_path_factory.mktemp(f"readme-{name}")
    (home / "var").mkdir()
    (home / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    if name == "two-approvers":
        for url in fresh_postgres_database():
            yield from _start(name, home, url)
    else:
        yield from _start(name, home, f"sqlite:///{home / 'var' / 'registry.db'}")


def _start(name: str, home: Path, database_url: str) -> Iterator[Registry]:
    environment = _environment(home, database_url, SERVER_SETTINGS[name])
    _cli(environment, home, "db", "upgrade")
    printed = _cli(environment, home, "seed", "--demo")
    tokens = "\n".join(line.strip() for line in printed.splitlines()
                       if line.strip().startswith("export TOKEN_"))
    assert "export TOKEN_REGISTRY_CLERK=" in tokens, printed
    with registry_serve(environment, home) as served:
        yield Registry(served.base_url, home, environment, tokens)


def run_section(registry: Registry, examples: list[Example], ids: dict[str, str]
                ) -> list[str]:
    """Runs the examples in order in one shell state; the problems found."""
    problems: list[str] = []
    state = registry.home / "shell-state"
    state.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(registry.environment)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    for example in examples:
        command = example.command.replace(DOCUMENTED_URL, registry.base_url)
        for documented, actual in ids.items():
            command = command.replace(documented, actual)
        script = "\n".join([
            "set -a", f"source {state}", registry.tokens,
            f"q() {{ curl -s {registry.base_url}/graphql -H \"Authorization: Bearer $1\" "
            "-H 'Content-Type: application/json' -d \"$2\"; }",
            command, "set +a", f"export -p > {state}"])
        result = subprocess.run(["bash", "-e", "-c", script], cwd=registry.home, env=env,  # noqa: S603, S607
                                capture_output=True, text=True, timeout=60, check=False)
        where = f"README.md:{example.line} ({example.section})"
        if result.returncode != 0:
            problems.append(f"{where}: exit {result.returncode}: {result.stderr.strip()}")
            continue
        if example.answer is None:
            continue
        try:
            actual = actual_answers(result.stdout)
        except json.JSONDecodeError:
            problems.append(f"{where}: the output is not JSON: {result.stdout!r}")
            continue
        documented = documented_answers(example.answer)
        if len(actual) != len(documented):
            problems.append(f"{where}: {len(documented)} answers documented, "
                            f"{len(actual)} given: {result.stdout}")
            continue
        for n, (expected, given) in enumerate(zip(documented, actual, strict=True)):
            given = without_cost(expected, given)
            comparison = Comparison(example.varies | ALWAYS_VARIES, ids, example.any_order)
            comparison.compare(expected, given)
            problems.extend(f"{where}, answer {n + 1}: {p}\n  given: {json.dumps(given)}"
                            for p in comparison.problems)
    return problems


# --- the tests -----------------------------------------------------------------------------

def test_every_readme_command_block_is_run_or_marked_with_a_reason(readme: Readme) -> None:
    assert readme.unmarked == []
    assert readme.examples, "no README example found"
    listing = "\n".join(f"  README.md:{m.line} ({m.section}) ```{m.language}: {m.reason}"
                        for m in readme.marked)
    print(f"\nREADME: {len(readme.examples)} sh blocks run "
          f"({sum(e.answer is not None for e in readme.examples)} with a documented answer), "
          f"{len(readme.marked)} blocks not executed:\n{listing}")
    assert all(m.reason.strip() for m in readme.marked)


@pytest.mark.parametrize("server", [
    "demo", pytest.param("two-approvers", marks=pytest.mark.postgres)])
def test_the_readme_examples_answer_as_documented(
        readme: Readme, server: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    missing = [tool for tool in ("bash", "curl", "date") if shutil.which(tool) is None]
    assert missing == [], f"the README's examples need {missing} (.ci/run installs curl)"
    examples = sorted((e for e in readme.examples
                       if SERVER_OF_SECTION.get(e.section, "demo") == server),
                      key=lambda e: e.section != RUNS_FIRST)
    assert server != "demo" or examples[0].section == RUNS_FIRST
    assert examples, f"no README example runs on the {server} registry"
    for registry in start(server, tmp_path_factory):
        problems = run_section(registry, examples, {})
        assert problems == [], "\n\n".join(problems)


# --- the comparison itself: a drift is caught ----------------------------------------------

DOCUMENTED = """{"data": {"judgment": {"id": "jdg_dNuCufiQsXqeaYXt", "sealStatus": "SEALED",
  "registeredAt": "2026-12-06T02:05:23.467110+00:00", "counts": [1, 2]}},
 "errors": [{"message": "x", …, "extensions": {"code": "CONFLICT", "field": "uid"}}]}"""


def _problems(actual: Any, varies: frozenset[str] = frozenset()) -> list[str]:
    comparison = Comparison(varies, {})
    comparison.compare(documented_answers(DOCUMENTED)[0], actual)
    return comparison.problems


def _answer(**changes: Any) -> dict[str, Any]:
    judgment = {"id": "jdg_AAAAAAAAAAAAAAAA", "sealStatus": "SEALED",
                "registeredAt": "2027-01-02T03:04:05.000001+00:00", "counts": [1, 2]}
    error = {"message": "x", "locations": [{"line": 1, "column": 2}],
             "extensions": {"code": "CONFLICT", "field": "uid"}}
    judgment.update(changes.get("judgment", {}))
    error.update(changes.get("error", {}))
    return {"data": {"judgment": judgment}, "errors": [error]}


def test_an_answer_of_the_documented_shape_passes_whatever_its_ids_and_times() -> None:
    assert _problems(_answer()) == []


@pytest.mark.parametrize("changes", [
    {"judgment": {"sealStatus": "OPEN"}},
    {"judgment": {"counts": [1, 2, 3]}},
    {"judgment": {"counts": [1]}},
    {"judgment": {"extra": True}},
    {"judgment": {"id": "not-an-id"}},
    {"judgment": {"registeredAt": "yesterday"}},
    {"error": {"extensions": {"code": "BAD_USER_INPUT", "field": "uid"}}},
    {"error": {"extensions": {"code": "CONFLICT", "field": "policy"}}},
])
def test_a_drifted_answer_fails(changes: dict[str, Any]) -> None:
    assert _problems(_answer(**changes)) != []


def test_a_key_marked_as_varying_is_compared_by_type_only() -> None:
    assert _problems(_answer(judgment={"sealStatus": "OPEN"}), frozenset({"sealStatus"})) == []
    assert _problems(_answer(judgment={"sealStatus": 1}), frozenset({"sealStatus"})) != []


def test_an_id_stands_for_one_actual_id_throughout_a_walk_through() -> None:
    ids = {"jdg_dNuCufiQsXqeaYXt": "jdg_BBBBBBBBBBBBBBBB"}
    comparison = Comparison(frozenset(), ids)
    comparison.compare(documented_answers(DOCUMENTED)[0], _answer())
    assert comparison.problems != []
