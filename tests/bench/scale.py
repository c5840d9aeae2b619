"""`python -m tests.bench.scale` (`make bench-scale`): how a request grows with the data
(DESIGN.md §3, growth), on PostgreSQL.

A measurement, not a test: it prints BELOW TARGET where a target is missed, and exits 0.

One database per size (`registry_scale_5000`, `registry_scale_1000000` by default: dropped
and created, never `test`), migrated, seeded with `registry seed --judgments N` and VACUUM
ANALYZEd, as autovacuum would leave it. One API server per size (uvicorn, one worker), all
up at once, answers one client's requests one at a time, the sizes taking turns in rounds,
as the Beijing municipal registry clerk (division 11: 60 % of the seeded judgments):

- page: `judgments(first: 20)`, every field of a judgment and its offender, no totalCount;
- page + totalCount: the same page with its exact `totalCount`;
- page 50: the same page after the cursor that ends page 49;
- name search: `offenders(filter: {name})`, a name thousands share at 1,000,000;

then audited reads per second (the page, wrk -c16) with 1 and with 2 workers, sampling
`pg_stat_activity` meanwhile; and again with each worker held to `--worker-cpu` of a CPU
(a cgroup's CPU quota, where this runs as root on a machine with cgroup v1's cpu controller),
so that two workers and everything else they need (PostgreSQL, wrk) fit on the machine's
CPUs: with every worker on a CPU of its own, a machine with fewer CPUs than processes cannot
show whether a second worker doubles the reads, or whether something they share (the audit
chain's lock) stops them (what the sessions wait on: the audit chain's advisory lock
shows as "active: Lock: advisory"). Every request is audited as always. EXPLAIN (ANALYZE)
of the count and of the name search shows the plans.
Targets: page at the largest size within 1.2x of the smallest; page + totalCount <= 100 ms;
2 workers >= 1.6x 1 worker (each held to the same CPU budget) at the largest size.
"""

# ruff: noqa: S603, S607, S608 - runs the registry CLI, uvicorn and wrk by design; the SQL it
# explains is made of constants

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, make_url, text

from tests.bench.run import (
    BOTTOMLESS,
    QUERY_A,
    ROOT,
    ensure_wrk,
    free_port,
    registry,
    run_wrk,
    say,
    wait_healthy,
)

PAGE = QUERY_A.replace("query BenchJudgments {\n  judgments(first: 20) {\n    totalCount\n",
                       "query Page($after: String) {\n  judgments(first: 20, after: $after) {\n")
COUNTED = PAGE.replace("pageInfo {", "totalCount pageInfo {")
CURSOR = "query Next($after: String) { judgments(first: 20, after: $after) { " \
         "pageInfo { endCursor } } }"
NAME = "query Name($name: String!) { offenders(first: 20, filter: {name: $name}) { " \
       "edges { node { id name idNumber birthDate residenceRegion } } } }"
SEARCHED = "Wang Wei"  # one of the 110 demo names: ~9,000 namesakes at 1,000,000

# What the API sends for the Beijing clerk (tests/api/test_query_count.py shows the SQL):
# the visibility combinations OR-ed, each with the division's prefix.
COMBOS = [(s, v) for s in ("open", "sealed") for v in ("guilty", "acquitted")]
VISIBLE = " OR ".join(f"(seal_status = '{s}' AND region LIKE '11' || '%' ESCAPE '/' AND "
                      f"verdict = '{v}')" for s, v in COMBOS)
EXPLAINED = {
    "count, kept (what totalCount runs)":
        f"SELECT coalesce(sum(n), 0) FROM judgment_tally WHERE {VISIBLE}",
    "count(*) (what totalCount ran before)": f"SELECT count(*) FROM judgment WHERE {VISIBLE}",
    "page": f"SELECT * FROM judgment WHERE {VISIBLE} ORDER BY public_id LIMIT 21",
    "name search": "SELECT * FROM offender WHERE residence_region LIKE '11' || '%' "
                   f"ESCAPE '/' AND name = '{SEARCHED}' ORDER BY public_id LIMIT 21",
}
TARGET_PAGE_RATIO = 1.2
TARGET_COUNT_MS = 100.0
TARGET_WORKERS_RATIO = 1.6
# cgroup v1's cpu controller: a CFS quota per group of processes.
CGROUP_CPU = Path("/sys/fs/cgroup/cpu")
CFS_PERIOD_US = 100_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432",
                        help="a PostgreSQL server whose user may create databases")
    parser.add_argument("--database", default="registry_scale",
                        help="prefix of the databases (one per size: dropped and created)")
    parser.add_argument("--sizes", default="5000,1000000", help="judgments, ascending")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per query")
    parser.add_argument("--rounds", type=int, default=5, help="the sizes take turns")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per workers")
    parser.add_argument("--worker-cpu", type=float, default=0.35,
                        help="the CPU budget of each worker in the second throughput "
                             "measurement (0: no such measurement)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep databases a previous run seeded (the seed adds what is "
                             "missing) instead of dropping them")
    parser.add_argument("--output", default=str(ROOT / "var" / "bench-scale.json"))
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.sizes.split(",")]
    if args.database in ("test", "postgres", "template") or sizes != sorted(sizes):
        parser.error("--database must name scratch databases and --sizes be ascending")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    wrk = ensure_wrk()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="registry-scale-") as tmp_name:
        tmp = Path(tmp_name)
        base = {**os.environ, "REGISTRY_SIGNING_KEY_FILE": str(tmp / "signing-key.pem"),
                "REGISTRY_AUDIT_KEYRING_DIR": str(tmp / "audit-keys"),
                "REGISTRY_ENV": "development", "PYTHONUNBUFFERED": "1",
                "REGISTRY_RATE_BUCKET": BOTTOMLESS, "REGISTRY_RATE_RESTORE": BOTTOMLESS}
        base.pop("REGISTRY_AUTHZ_DISABLED", None)
        envs: dict[int, dict[str, str]] = {}
        for size in sizes:
            url = make_url(args.postgres).set(database=f"{args.database}_{size}")
            envs[size] = env = {**base, "REGISTRY_DATABASE_URL":
                                url.render_as_string(hide_password=False)}
            recreate(env["REGISTRY_DATABASE_URL"], keep=args.reuse)
            registry(env, "db", "upgrade")
            started = time.monotonic()
            registry(env, "seed", "--quiet", "--judgments", str(size))
            seeded = time.monotonic() - started
            vacuum(env["REGISTRY_DATABASE_URL"])
            say(f"{size} judgments: seeded in {seeded:.0f}s (then VACUUM ANALYZE), "
                f"database {url.database}")
            results[str(size)] = {"seed_seconds": round(seeded, 1),
                                  "plans": explain(env["REGISTRY_DATABASE_URL"])}
        token = registry(base | envs[sizes[0]], "token", "issue", "--sub", "bench.clerk",
                         "--role", "registry_clerk", "--agency", "REG-110000",
                         "--ttl", "7200").strip()
        for size, found in latencies(envs, tmp, token, args).items():
            results[str(size)].update(found)
        for size in sizes:
            results[str(size)]["audited_reads_per_s"] = throughput(envs[size], tmp, token,
                                                                   wrk, args)
    report = summarise(results, sizes, args, argv)
    print_report(report)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    say(f"written {out}")
    return 0


def recreate(url: str, *, keep: bool) -> None:
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": name}).scalar()
            if exists and keep:
                return
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def vacuum(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


def explain(url: str) -> dict[str, list[str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {name: [row[0] for row in conn.execute(text(
                f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}"))]
                for name, sql in EXPLAINED.items()}
    finally:
        engine.dispose()


@contextlib.contextmanager
def server(env: dict[str, str], tmp: Path, workers: int,
           enter: Callable[[], None] | None = None) -> Iterator[str]:
    """An API server; `enter` runs in its process before uvicorn starts (`cpu_budget`)."""
    port = free_port()
    log = tmp / f"server-{workers}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host",
             "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log",
             "--log-level", "warning"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=enter)  # noqa: PLW1509 - no thread runs while a server starts
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{workers} workers", url, proc, log)
        yield url + "/graphql"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def latencies(envs: dict[int, dict[str, str]], tmp: Path, token: str,
              args: argparse.Namespace) -> dict[int, dict[str, Any]]:
    """One server per size, all up at once; each query is timed in rounds in which the sizes
    take turns, so that a busy spell of the machine falls on every size alike."""
    headers = {"Authorization": f"Bearer {token}"}
    found: dict[int, dict[str, Any]] = {size: {} for size in envs}
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(httpx.Client(headers=headers, timeout=60))
        urls = {size: stack.enter_context(server(env, tmp, 1)) for size, env in envs.items()}

        def ask(size: int, query: str, variables: dict[str, Any]) -> dict[str, Any]:
            reply = client.post(urls[size], json={"query": query, "variables": variables})
            body: dict[str, Any] = reply.json()
            assert reply.status_code == 200 and not body.get("errors"), body
            data: dict[str, Any] = body["data"]
            return data

        cases: dict[int, dict[str, tuple[str, dict[str, Any]]]] = {}
        for size in envs:
            cursor = None
            for _ in range(49):
                page = ask(size, CURSOR, {"after": cursor})["judgments"]["pageInfo"]
                cursor = page["endCursor"]
            cases[size] = {"page": (PAGE, {}), "page + totalCount": (COUNTED, {}),
                           "page 50": (PAGE, {"after": cursor}),
                           "name search": (NAME, {"name": SEARCHED})}
            first = ask(size, COUNTED, {})["judgments"]
            found[size]["checks"] = {
                "totalCount": first["totalCount"], "edges": len(first["edges"]),
                "page 50 edges": len(ask(size, PAGE, {"after": cursor})["judgments"]["edges"]),
                "name search edges": len(ask(size, NAME, {"name": SEARCHED})
                                         ["offenders"]["edges"])}
        per_round = max(1, args.requests // args.rounds)
        names = list(cases[next(iter(envs))])
        times: dict[tuple[int, str], list[float]] = {(z, n): [] for z in envs for n in names}
        for size, name in times:
            for _ in range(5):
                ask(size, *cases[size][name])
        for round_no in range(args.rounds):
            for name in names:
                for size in envs:
                    for _ in range(per_round):
                        began = time.perf_counter()
                        ask(size, *cases[size][name])
                        times[size, name].append((time.perf_counter() - began) * 1000)
            say(f"  round {round_no + 1}/{args.rounds} done")
        for (size, name), taken in times.items():
            taken.sort()
            found[size].setdefault("latency_ms", {})[name] = {
                "p50": round(statistics.median(taken), 2),
                "p90": round(taken[int(len(taken) * 0.9) - 1], 2)}
    return found


def throughput(env: dict[str, str], tmp: Path, token: str, wrk: str,
               args: argparse.Namespace) -> dict[str, Any]:
    """Audited reads per second (the page, wrk -t2 -c16) with 1 and with 2 workers; then the
    same with each worker held to `args.worker_cpu` of a CPU, where a cgroup can do that."""
    body = tmp / "page.json"
    body.write_text(json.dumps({"query": PAGE}))
    found: dict[str, Any] = {}
    budgets: list[float | None] = [None]
    if args.worker_cpu > 0:
        if cpu_budgets_possible():
            budgets.append(args.worker_cpu)
        else:
            say(f"  no CPU budget per worker: {CGROUP_CPU} is not there or not writable "
                "(root and cgroup v1's cpu controller are needed)")
    for budget in budgets:
        into = found if budget is None else found.setdefault("budgeted", {"cpu": budget})
        for workers in (1, 2):
            with cpu_budget(budget * workers if budget else None) as enter, \
                    server(env, tmp, workers, enter) as url:
                wrk_args = argparse.Namespace(threads=2, connections=16)
                run_wrk(wrk, url, body, token, wrk_args, 3)
                with sampling_waits(env["REGISTRY_DATABASE_URL"]) as waits:
                    sample = run_wrk(wrk, url, body, token, wrk_args, args.duration)
            into[str(workers)] = {
                "req_per_s": sample.requests_per_second, "p50_ms": sample.p50_ms,
                "p99_ms": sample.p99_ms, "bad": sample.bad_responses + sample.socket_errors,
                "waits": waits}
            held = f", each held to {budget:g} CPU" if budget else ""
            say(f"  {workers} worker(s){held}: {sample.requests_per_second:.1f} audited "
                "reads/s; what the database's sessions were doing: " + ", ".join(
                    f"{name} {share:.0%}" for name, share in list(waits["shares"].items())[:5]))
    return found


def cpu_budgets_possible() -> bool:
    return (CGROUP_CPU / "cpu.cfs_quota_us").exists() and os.access(CGROUP_CPU, os.W_OK)


@contextlib.contextmanager
def cpu_budget(cpus: float | None) -> Iterator[Callable[[], None] | None]:
    """A cgroup that holds the processes put in it to `cpus` CPUs in all (a CFS quota), and
    the function that puts the calling process in it (children follow); None for no budget.
    The group is removed once its processes are gone."""
    if cpus is None:
        yield None
        return
    group = CGROUP_CPU / f"registry-bench-{os.getpid()}-{time.monotonic_ns()}"
    group.mkdir()
    try:
        (group / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
        (group / "cpu.cfs_quota_us").write_text(str(round(cpus * CFS_PERIOD_US)))
        procs = str(group / "cgroup.procs")

        def enter() -> None:  # in the server's process, between fork and exec
            with open(procs, "w") as handle:
                handle.write(str(os.getpid()))

        yield enter
    finally:
        for _ in range(50):  # its processes may still be exiting
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


@contextlib.contextmanager
def sampling_waits(url: str, every: float = 0.05) -> Iterator[dict[str, Any]]:
    """What the API's sessions of the database do while the block runs, from
    `pg_stat_activity` every `every` seconds: "active: running" (on CPU), "active: <wait
    event>" (e.g. "Lock: advisory", the audit chain's lock), "idle in transaction" (waiting on
    the API process). Filled in when the block ends: shares of all session samples, most
    first, and how many samples found a session waiting on the chain's advisory lock."""
    import threading
    from collections import Counter

    found: dict[str, Any] = {}
    counts: Counter[str] = Counter()
    stop = threading.Event()
    samples = [0]

    def sample() -> None:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                while not stop.is_set():
                    rows = conn.execute(text(
                        "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND backend_type = 'client backend' AND state <> 'idle'")).all()
                    samples[0] += 1
                    for state, kind, event in rows:
                        if state == "active":
                            counts["active: " + (f"{kind}: {event}" if kind else "running")] += 1
                        else:
                            counts[str(state)] += 1
                    stop.wait(every)
        finally:
            engine.dispose()

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join(5)
        total = sum(counts.values()) or 1
        found["samples"] = samples[0]
        found["shares"] = {name: round(n / total, 3) for name, n in counts.most_common()}
        found["chain_lock_waits"] = counts["active: Lock: advisory"]


def summarise(results: dict[str, Any], sizes: list[int], args: argparse.Namespace,
              argv: list[str] | None) -> dict[str, Any]:
    small, large = results[str(sizes[0])], results[str(sizes[-1])]
    ratio = large["latency_ms"]["page"]["p50"] / small["latency_ms"]["page"]["p50"]
    counted = large["latency_ms"]["page + totalCount"]["p50"]
    targets = {
        "page_large_over_small": {"value": round(ratio, 3), "target": TARGET_PAGE_RATIO,
                                  "met": ratio <= TARGET_PAGE_RATIO},
        "page_with_total_ms": {"value": counted, "target": TARGET_COUNT_MS,
                               "met": counted <= TARGET_COUNT_MS}}
    budgeted = large["audited_reads_per_s"].get("budgeted")
    if budgeted is not None:
        workers = budgeted["2"]["req_per_s"] / max(budgeted["1"]["req_per_s"], 1e-9)
        targets["workers_2_over_1_budgeted"] = {
            "value": round(workers, 3), "target": TARGET_WORKERS_RATIO,
            "met": workers >= TARGET_WORKERS_RATIO}
    return {
        "command": "python -m tests.bench.scale " + " ".join(
            argv if argv is not None else sys.argv[1:]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "sizes": sizes, "results": results, "targets": targets,
    }


def print_report(report: dict[str, Any]) -> None:
    sizes = [str(s) for s in report["sizes"]]
    results = report["results"]
    print(f"\n{report['when']}, PostgreSQL, {report['machine']['cpus']} CPUs (load average "
          f"{report['machine']['load_average_at_end']} at the end), one client, p50 (p90) in "
          "ms, clerk of division 11")
    print(f"{'request':<26}" + "".join(f"{s + ' judgments':>24}" for s in sizes))
    for name in results[sizes[0]]["latency_ms"]:
        cells = [results[s]["latency_ms"][name] for s in sizes]
        print(f"{name:<26}" + "".join(f"{c['p50']:>14.2f} ({c['p90']:>7.2f})" for c in cells))
    for workers in ("1", "2"):
        print(f"{'audited reads/s, ' + workers + ' worker(s)':<26}" + "".join(
            f"{results[s]['audited_reads_per_s'][workers]['req_per_s']:>24.1f}" for s in sizes))
    budget = results[sizes[-1]]["audited_reads_per_s"].get("budgeted", {}).get("cpu")
    if budget is not None:
        for workers in ("1", "2"):
            label = f"{workers} worker(s), {budget:g} CPU each"
            print(f"{label:<26}" + "".join(
                f"{results[s]['audited_reads_per_s']['budgeted'][workers]['req_per_s']:>24.1f}"
                for s in sizes))
    for workers in ("1", "2"):
        for s in sizes:
            waits = results[s]["audited_reads_per_s"][workers]["waits"]
            print(f"sessions of {s} judgments, {workers} worker(s), {waits['samples']} samples: "
                  + ", ".join(f"{name} {share:.0%}" for name, share in waits["shares"].items()))
    print(f"{'totalCount':<26}" + "".join(
        f"{results[s]['checks']['totalCount']:>24}" for s in sizes))
    print()
    for name, target in report["targets"].items():
        verdict = "ok" if target["met"] else "BELOW TARGET"
        print(f"{name:<26}{target['value']:>10}  target {target['target']}  {verdict}")
    for name, lines in results[sizes[-1]]["plans"].items():
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) {name} at {sizes[-1]} judgments:")
        print("\n".join("  " + line for line in lines))


if __name__ == "__main__":
    raise SystemExit(main())
