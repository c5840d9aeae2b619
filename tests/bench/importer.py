"""`python -m tests.bench.importer` (`make bench-import`): how fast `registry import notices`
registers judgments on PostgreSQL (DESIGN.md §3: at least 1,000 notices a second, with every
check, policy decision and audit event of the API).

A measurement, not a test: it prints BELOW TARGET where the target is missed, and exits 0
once it has measured (1 only when the import did not register every line).

A database of its own (`registry_bench_import` by default: dropped and created, never
`test`), migrated and seeded with the demo agencies and `--seeded` demo judgments (the
importer then reads an existing registry, not an empty one), VACUUM ANALYZEd. The file:
`--notices` court notices of effective judgments from COURT-110101, valid and distinct,
shaped as `registry seed` shapes its judgments (the five demo districts, a quarter of the
people minors at the offence, fixed terms and criminal detention, five crimes); one notice
in ten is a second judgment of a person an earlier line reported (the seals are decided
again over both). The import runs as the CLI runs (`registry import notices FILE --agency
COURT-110101 --no-progress --json`, its own process), timed from start to exit; then the
same file again (every line a duplicate), and `registry audit verify`.
"""

# ruff: noqa: S603, S607 - runs the registry CLI by design

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

from api.seed import CRIMES, GIVEN, REGIONS, SURNAMES, make_id_number
from tests.bench.run import ROOT, registry, registry_command, say
from tests.bench.scale import recreate, vacuum

TARGET = 1000.0  # notices a second (DESIGN.md §3)
COURT = "COURT-110101"


def notices(count: int, used: set[str], seed: int = 13) -> list[dict[str, Any]]:
    """`count` ReportJudgmentInput lines of COURT-110101, valid and distinct, of people
    whose identity numbers are not in `used` (the seeded ones) or of people reported on an
    earlier line."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    people: list[dict[str, Any]] = []
    lines = []
    today = date.today()
    for n in range(count):
        if people and n % 10 == 9:
            person = rng.choice(people)  # a second judgment of someone reported earlier
            minor = False
        else:
            region = REGIONS[n % len(REGIONS)]
            minor = n % 4 == 1
            birth = date(1970, 1, 1) + timedelta(days=rng.randrange(0, 30 * 365))
            number = make_id_number(region, birth, n)
            while number in used:  # as `registry seed` does: the serial has three digits
                birth += timedelta(days=1)
                number = make_id_number(region, birth, n)
            used.add(number)
            person = {"idNumber": number,
                      "name": f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}",
                      "birthDate": birth.isoformat(), "gender": rng.choice(["male", "female"]),
                      "residenceRegion": region}
            people.append(person)
        birth = date.fromisoformat(person["birthDate"])
        offence = birth + timedelta(days=(16 if minor else 25) * 366 + rng.randrange(0, 300))
        if offence > today - timedelta(days=200):
            offence = today - timedelta(days=200 + rng.randrange(0, 300))
        judged = offence + timedelta(days=120)
        kind, term = ("FIXED_TERM_IMPRISONMENT", rng.choice([6, 18, 36, 96])) if n % 3 else \
            ("CRIMINAL_DETENTION", rng.choice([2, 4, 6]))
        if minor:
            term = min(term, 36)
        crime = CRIMES[n % len(CRIMES)]
        lines.append({"kind": "JUDGMENT", "input": {
            "noticeNumber": f"BENCH-{n + 1}",
            "judgmentNumber": f"({judged.year}) Jing 0101 Xing Chu No. B{n + 1}",
            "prosecutor": "Dongcheng District People's Procuratorate",
            "judgmentDate": judged.isoformat(),
            "effectiveDate": (judged + timedelta(days=10)).isoformat(),
            "offenseDate": offence.isoformat(), "defendant": person,
            "crimes": [{"name": crime[0], "article": crime[1]}],
            "penalty": {"kind": kind, "termMonths": term,
                        **({"supplementary": ["Deprivation of political rights"]}
                           if term > 60 else {})}}})
    return lines


def seeded_people(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT id_number FROM offender")).scalars())
    finally:
        engine.dispose()


def timed_import(env: dict[str, str], path: Path) -> tuple[float, dict[str, Any], float]:
    """Seconds from start to exit, the summary, and the import's CPU seconds (user and
    system); its peak RSS goes into the summary (`peak_rss_mb`)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        child = subprocess.Popen([*registry_command(), "import", "notices", str(path),
                                  "--agency", COURT, "--no-progress", "--json"],
                                 env=env, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.monotonic() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode not in (0, 1):
            sys.exit(f"bench: the import failed ({child.returncode}):\n{err.read().decode()}")
        summary = json.loads(out.read())
    summary["peak_rss_mb"] = round(usage.ru_maxrss / 1024)
    return seconds, summary, usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.importer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432",
                        help="a PostgreSQL server whose user may create databases")
    parser.add_argument("--database", default="registry_bench_import",
                        help="the scratch database (dropped and created)")
    parser.add_argument("--notices", type=int, default=20_000, help="lines in the file")
    parser.add_argument("--seeded", type=int, default=5_000,
                        help="demo judgments in the registry before the import")
    parser.add_argument("--output", default=str(ROOT / "var" / "bench-import.json"))
    args = parser.parse_args(argv)
    if args.database in ("test", "postgres", "template0", "template1"):
        parser.error("--database must name a scratch database")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    url = make_url(args.postgres).set(database=args.database).render_as_string(
        hide_password=False)
    with tempfile.TemporaryDirectory(prefix="registry-bench-import-") as tmp_name:
        tmp = Path(tmp_name)
        env = {**os.environ, "REGISTRY_DATABASE_URL": url,
               "REGISTRY_SIGNING_KEY_FILE": str(tmp / "signing-key.pem"),
               "REGISTRY_AUDIT_KEYRING_DIR": str(tmp / "audit-keys"),
               "REGISTRY_ENV": "development", "PYTHONUNBUFFERED": "1"}
        env.pop("REGISTRY_AUTHZ_DISABLED", None)
        recreate(url, keep=False)
        registry(env, "db", "upgrade")
        registry(env, "seed", "--quiet", "--judgments", str(args.seeded))
        vacuum(url)
        path = tmp / "notices.jsonl"
        with path.open("w") as handle:
            for line in notices(args.notices, seeded_people(url)):
                handle.write(json.dumps(line) + "\n")
        say(f"{args.notices} judgment notices ({path.stat().st_size // 1024} KiB) into "
            f"{args.database} holding {args.seeded} judgments")
        load = os.getloadavg()[0]
        seconds, summary, cpu = timed_import(env, path)
        rate = summary["registered"] / seconds
        say(f"first import: {seconds:.1f} s, {rate:,.0f} notices/s; {_counts(summary)}; "
            f"{cpu / args.notices * 1000:.1f} ms of CPU a line in the importer, peak RSS "
            f"{summary['peak_rss_mb']} MB")
        again_seconds, again, again_cpu = timed_import(env, path)
        say(f"same file again: {again_seconds:.1f} s, "
            f"{again['duplicate'] / again_seconds:,.0f} lines/s; {_counts(again)}; "
            f"{again_cpu / args.notices * 1000:.1f} ms of CPU a line")
        load = max(load, os.getloadavg()[0])
        verified = registry(env, "audit", "verify", check=False).strip().splitlines()
        say(" / ".join(verified))
    report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
                         f"load average up to {load:.2f}",
              "notices": args.notices, "seeded": args.seeded,
              "seconds": round(seconds, 2), "notices_per_s": round(rate, 1),
              "cpu_ms_per_line": round(cpu / args.notices * 1000, 2),
              "rerun_seconds": round(again_seconds, 2), "summary": summary,
              "rerun_summary": again, "audit_verify": verified}
    print(f"import: {rate:,.0f} notices/s ({args.notices} judgments in {seconds:.1f} s, "
          f"PostgreSQL, {report['machine']}; target {TARGET:,.0f})"
          + ("" if rate >= TARGET else "  BELOW TARGET"))
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    say(f"written {out}")
    return 0 if summary["registered"] == args.notices and again["duplicate"] == args.notices \
        else 1


def _counts(summary: dict[str, Any]) -> str:
    return ", ".join(f"{k} {summary[k]}" for k in ("registered", "duplicate", "conflict",
                                                   "queued", "invalid", "forbidden", "failed")
                     if summary.get(k))


if __name__ == "__main__":
    sys.exit(main())
