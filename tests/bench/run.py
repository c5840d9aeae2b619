"""`python -m tests.bench.run`: the speed targets of DESIGN.md §3, measured with wrk.

A measurement, not a test: it always exits 0 once it has measured, and prints
BELOW TARGET when a ratio misses its target.

- A: `judgments(first: 20)` with every field of Judgment and its offender, served by the
  API with authorization on and with `REGISTRY_AUTHZ_DISABLED=1`; target on/off >= 0.8.
- B: `{ me { sub role } }` on the API (authorization on) against a bare starlette JSON
  route (tests/bench/bare.py); target B/bare >= 0.2.

Every server is its own uvicorn process (one worker, no access log); wrk
(`-t2 -c16 --latency`) loads one server at a time, configurations alternating within
each round. Figures are medians over rounds; `var/bench.json` keeps every round.
"""

# ruff: noqa: S603, S607 - runs the registry CLI, uvicorn, wrk and apt-get by design

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

BOTTOMLESS = "1000000000"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LUA = HERE / "post.lua"

QUERY_A = """query BenchJudgments {
  judgments(first: 20) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id judgmentNumber
      court { code kind name region }
      prosecutor judgmentDate effectiveDate offenseDate ageAtOffense
      crimes { name article }
      penalty { kind termMonths probationMonths supplementary fineAmount }
      execution { kind date }
      sealStatus
      offender { id name idNumber birthDate gender residenceRegion }
    } }
  }
}"""
QUERY_B = "{ me { sub role } }"

TARGET_AUTHZ = 0.8
TARGET_FIXED = 0.2

# (name, server, query)
CONFIGS = (
    ("A authz on", "on", "A"),
    ("A authz off", "off", "A"),
    ("B me (authz on)", "on", "B"),
    ("bare starlette", "bare", "B"),
)


@dataclass
class Sample:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad_responses: int
    socket_errors: int


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: SQLite in a temporary directory")
    parser.add_argument("--judgments", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds before each measurement")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--policy-poll-seconds", type=float,
                        help="sets REGISTRY_POLICY_POLL_SECONDS for the API servers "
                             "(default: the app's own default)")
    parser.add_argument("--output", default=str(ROOT / "var" / "bench.json"))
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.duration < 1 or args.warmup < 0:
        parser.error("--rounds and --duration must be positive")

    wrk = ensure_wrk()
    # SIGTERM (e.g. from make's parent) unwinds like Ctrl-C, so the servers are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env = dict(os.environ)
        env.update({
            "REGISTRY_DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'bench.db'}",
            "REGISTRY_SIGNING_KEY_FILE": str(tmp / "signing-key.pem"),
            "REGISTRY_ENV": "development",
            "PYTHONUNBUFFERED": "1",
            # One token drives each server at full speed: buckets that never run dry, so
            # the limiter is measured (it still takes and reports every price) but never
            # refuses.
            "REGISTRY_RATE_BUCKET": BOTTOMLESS, "REGISTRY_RATE_RESTORE": BOTTOMLESS,
        })
        env.pop("REGISTRY_AUTHZ_DISABLED", None)
        if args.policy_poll_seconds is not None:
            env["REGISTRY_POLICY_POLL_SECONDS"] = str(args.policy_poll_seconds)
        say(f"database {redact(env['REGISTRY_DATABASE_URL'])}")
        started = time.monotonic()
        registry(env, "db", "upgrade")
        seed(env, args.judgments)
        say(f"migrated and seeded in {time.monotonic() - started:.1f}s")
        token = registry(env, "token", "issue", "--sub", "bench.clerk", "--role",
                         "registry_clerk", "--agency", "REG-110000", "--ttl", "3600").strip()
        bodies = {}
        for key, query in (("A", QUERY_A), ("B", QUERY_B)):
            path = tmp / f"body-{key}.json"
            path.write_text(json.dumps({"query": query}))
            bodies[key] = path

        with servers(env, tmp) as urls:
            checks = check_answers(urls, token)
            results: dict[str, list[Sample]] = {name: [] for name, _, _ in CONFIGS}
            for round_no in range(1, args.rounds + 1):
                for name, server, query in CONFIGS:
                    url = urls[server] + "/graphql"
                    if args.warmup:
                        run_wrk(wrk, url, bodies[query], token, args, args.warmup)
                    sample = run_wrk(wrk, url, bodies[query], token, args, args.duration)
                    results[name].append(sample)
                    say(f"round {round_no}/{args.rounds} {name:<16} "
                        f"{sample.requests_per_second:9.1f} req/s  p50 {sample.p50_ms:8.2f} ms"
                        f"  p99 {sample.p99_ms:8.2f} ms"
                        + (f"  BAD RESPONSES: {sample.bad_responses}"
                           if sample.bad_responses else "")
                        + ("  STALLED (no answers)" if sample.requests == 0 else ""))

    report = summarise(results, checks, args, argv)
    print_report(report)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    say(f"written {out}")
    return 0


# --- setup -----------------------------------------------------------------------------


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        say("wrk not found: installing the Debian package")
        subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=300)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, timeout=300,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = shutil.which("wrk")
        if found:
            return found
    sys.exit("bench: the load generator `wrk` is not installed and cannot be installed here "
             "(needs root and apt-get). Install it: `sudo apt-get install wrk`.")


def registry_command() -> list[str]:
    installed = Path(sys.executable).with_name("registry")
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "api"]


def registry(env: dict[str, str], *args: str, check: bool = True) -> str:
    done = subprocess.run([*registry_command(), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=1800)
    if done.returncode != 0 and not check:
        raise RuntimeError(done.stdout + done.stderr)
    if done.returncode != 0:
        sys.exit(f"bench: `registry {' '.join(args)}` failed ({done.returncode}):\n"
                 f"{done.stdout}{done.stderr}")
    return done.stdout


def seed(env: dict[str, str], judgments: int) -> None:
    """`registry seed --demo --judgments N` (idempotent: a second run adds nothing)."""
    registry(env, "seed", "--demo", "--quiet", "--judgments", str(judgments))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def servers(env: dict[str, str], tmp: Path) -> Iterator[dict[str, str]]:
    specs = {
        "on": ("api.app:create_app", ["--factory"], {}),
        "off": ("api.app:create_app", ["--factory"], {"REGISTRY_AUTHZ_DISABLED": "1"}),
        "bare": ("tests.bench.bare:app", [], {}),
    }
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs: dict[str, Path] = {}
    urls: dict[str, str] = {}
    try:
        for name, (target, extra, extra_env) in specs.items():
            port = free_port()
            logs[name] = tmp / f"server-{name}.log"
            with logs[name].open("wb") as log:
                procs[name] = subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", target, *extra, "--host", "127.0.0.1",
                     "--port", str(port), "--workers", "1", "--no-access-log",
                     "--log-level", "warning"],
                    env={**env, **extra_env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            urls[name] = f"http://127.0.0.1:{port}"
        for name, url in urls.items():
            wait_healthy(name, url, procs[name], logs[name])
        say("servers up: " + ", ".join(f"{n} {u}" for n, u in urls.items()))
        yield urls
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for name, proc in procs.items():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            if proc.returncode not in (0, -signal.SIGTERM):
                tail = logs[name].read_text(errors="replace")[-2000:] if logs[name].exists() else ""
                say(f"server {name} exited {proc.returncode}: {tail}")


def wait_healthy(name: str, url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"bench: server {name} exited {proc.returncode}:\n"
                     f"{log.read_text(errors='replace')[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    sys.exit(f"bench: server {name} not healthy after 60s:\n{log.read_text(errors='replace')}")


def check_answers(urls: dict[str, str], token: str) -> dict[str, Any]:
    """One real request per configuration: the benchmark measures real answers."""
    headers = {"Authorization": f"Bearer {token}"}
    checks: dict[str, Any] = {}
    answers = {}
    for server in ("on", "off"):
        reply = httpx.post(urls[server] + "/graphql", json={"query": QUERY_A}, headers=headers,
                           timeout=30)
        body = reply.json()
        assert reply.status_code == 200, (server, reply.status_code, body)
        assert not body.get("errors"), (server, body.get("errors"))
        edges = body["data"]["judgments"]["edges"]
        assert len(edges) == 20, (server, len(edges))
        regions = {e["node"]["offender"]["residenceRegion"][:2] for e in edges}
        answers[server] = body
        checks[f"A {server}"] = {"edges": len(edges),
                                 "totalCount": body["data"]["judgments"]["totalCount"],
                                 "bytes": len(reply.content),
                                 "offender regions": sorted(regions)}
    checks["A on == A off"] = answers["on"] == answers["off"]
    for server in ("on", "bare"):
        reply = httpx.post(urls[server] + "/graphql", json={"query": QUERY_B}, headers=headers,
                           timeout=30)
        body = reply.json()
        assert reply.status_code == 200 and not body.get("errors"), (server, body)
        assert body["data"]["me"]["sub"], (server, body)
        checks[f"B {server}"] = {"bytes": len(reply.content), "me": body["data"]["me"]}
    say(f"answers checked: {json.dumps(checks)}")
    return checks


# --- load -------------------------------------------------------------------------------


def run_wrk(wrk: str, url: str, body: Path, token: str, args: argparse.Namespace,
            duration: int) -> Sample:
    command = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s",
               "--latency", "--timeout", "10s", "-s", str(LUA), url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60,
                          env={**os.environ, "BENCH_BODY_FILE": str(body), "BENCH_TOKEN": token})
    if done.returncode != 0:
        sys.exit(f"bench: wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return parse_wrk(done.stdout)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if not match:
        raise ValueError(f"unrecognised wrk latency {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> Sample:
    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if not match:
            raise ValueError(f"wrk output without {pattern!r}:\n{output}")
        return match

    non_2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        output)
    bad = int(find(r"^BENCH_BAD (\d+)").group(1))
    return Sample(
        requests_per_second=float(find(r"^Requests/sec:\s*([\d.]+)").group(1)),
        p50_ms=_ms(find(r"^\s*50%\s+(\S+)").group(1)),
        p99_ms=_ms(find(r"^\s*99%\s+(\S+)").group(1)),
        requests=int(find(r"^\s*(\d+) requests in").group(1)),
        bad_responses=max(bad, int(non_2xx.group(1)) if non_2xx else 0),
        socket_errors=sum(int(g) for g in sockets.groups()) if sockets else 0,
    )


# --- report -----------------------------------------------------------------------------


def summarise(results: dict[str, list[Sample]], checks: dict[str, Any],
              args: argparse.Namespace, argv: list[str] | None) -> dict[str, Any]:
    medians = {
        name: {
            "req_per_s": round(statistics.median(s.requests_per_second for s in samples), 1),
            "p50_ms": round(statistics.median(s.p50_ms for s in samples), 2),
            "p99_ms": round(statistics.median(s.p99_ms for s in samples), 2),
            "bad_responses": sum(s.bad_responses for s in samples),
            "socket_errors": sum(s.socket_errors for s in samples),
            "stalled_rounds": sum(1 for s in samples if s.requests == 0),
        }
        for name, samples in results.items()
    }
    authz = medians["A authz on"]["req_per_s"] / medians["A authz off"]["req_per_s"]
    fixed = medians["B me (authz on)"]["req_per_s"] / medians["bare starlette"]["req_per_s"]
    # The ratio within each round too: both sides measured minutes apart at most.
    per_round = [
        round(on.requests_per_second / off.requests_per_second, 3)
        for on, off in zip(results["A authz on"], results["A authz off"], strict=True)
    ]
    return {
        "command": "python -m tests.bench.run " + " ".join(
            argv if argv is not None else sys.argv[1:]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "settings": {"judgments": args.judgments, "rounds": args.rounds,
                     "duration_s": args.duration, "warmup_s": args.warmup,
                     "threads": args.threads, "connections": args.connections,
                     "policy_poll_seconds": args.policy_poll_seconds,
                     "database": "postgresql" if args.database_url and
                     args.database_url.startswith("postgres") else "sqlite"},
        "checks": checks,
        "medians": medians,
        "ratios": {
            "authz_on_over_off": {"value": round(authz, 3), "target": TARGET_AUTHZ,
                                  "met": authz >= TARGET_AUTHZ, "per_round": per_round},
            "me_over_bare": {"value": round(fixed, 3), "target": TARGET_FIXED,
                             "met": fixed >= TARGET_FIXED},
        },
        "rounds": {name: [asdict(s) for s in samples] for name, samples in results.items()},
    }


def print_report(report: dict[str, Any]) -> None:
    s = report["settings"]
    print(f"\nmedians over {s['rounds']} rounds of {s['duration_s']}s, wrk -t{s['threads']} "
          f"-c{s['connections']}, {s['judgments']} judgments, {s['database']}, "
          f"{report['machine']['cpus']} CPUs")
    print(f"{'configuration':<18}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'bad':>6}")
    for name, m in report["medians"].items():
        print(f"{name:<18}{m['req_per_s']:>10.1f}{m['p50_ms']:>10.2f}{m['p99_ms']:>10.2f}"
              f"{m['bad_responses'] + m['socket_errors']:>6}")
    print()
    for label, key in (("A authz on / off", "authz_on_over_off"),
                       ("B me / bare route", "me_over_bare")):
        r = report["ratios"][key]
        verdict = "ok" if r["met"] else "BELOW TARGET"
        extra = f"  (per round {r['per_round']})" if "per_round" in r else ""
        print(f"{label:<18}{r['value']:>10.3f}  target >= {r['target']}  {verdict}{extra}")
    for name, m in report["medians"].items():
        if m["stalled_rounds"]:
            print(f"STALLED: {name} answered no request in {m['stalled_rounds']} round(s) "
                  "(see the server log lines above)")
    bad = sum(m["bad_responses"] + m["socket_errors"] for m in report["medians"].values())
    if bad:
        print(f"WARNING: {bad} responses were not 200 with data, or timed out: "
              "the figures are suspect")


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


if __name__ == "__main__":
    sys.exit(main())
