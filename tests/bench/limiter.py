"""`python -m tests.bench.limiter`: what the rate limiter costs a `{ me }` request.

A measurement, not a test. One process, no HTTP server and no load generator: one
application is called through ASGI directly, and the process's CPU time per request is
what is compared (wall time too, which for Redis includes the round trip to the server).
What changes between configurations is the application's buckets alone; they take turns
in short batches (`--rounds` of `--requests` each, each configuration first in turn), so
that the machine's drift falls on all of them alike, and figures are medians over batches
(batches of 500 drifted apart by up to 5% between runs; of 50, by 1-2%):

- no limiter (the application's buckets removed),
- buckets in memory (the default),
- buckets in Redis (`--redis-url`, default redis://127.0.0.1:6379/0).

The target (issue 10, DESIGN.md §3): the limiter costs at most 5% of `{ me }`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.applications import Starlette

from api.app import create_app
from api.auth import CLI_CLIENT_ID
from api.ratelimit import Buckets, MemoryBuckets, RedisBuckets
from api.settings import Settings
from db.engine import Database
from db.migrate import upgrade
from policies.store import ensure_defaults

QUERY = json.dumps({"query": "{ me { sub role } }"}).encode()
BOTTOMLESS = 10**9
TARGET = 0.05


async def prepare(database_url: str) -> None:
    database = Database(database_url)
    try:
        async with database.session() as session:
            await ensure_defaults(session)
            await session.commit()
    finally:
        await database.dispose()


async def answers(url: str) -> bool:
    client = Redis.from_url(url, socket_connect_timeout=2)
    try:
        return bool(await client.ping())
    except RedisError:
        return False
    finally:
        await client.aclose()


def asgi_post(app: Starlette, token: str) -> Callable[[], Any]:
    headers = [(b"host", b"registry.bench"), (b"content-type", b"application/json"),
               (b"authorization", f"Bearer {token}".encode()),
               (b"content-length", str(len(QUERY)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/graphql", "raw_path": b"/graphql",
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000)}

    async def call() -> None:
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)  # no disconnect while the answer is written
            sent = True
            return {"type": "http.request", "body": QUERY, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(dict(scope), receive, send)
        if status != 200:
            raise SystemExit(f"{{ me }} answered {status}")

    return call


async def measure(call: Callable[[], Any], requests: int) -> tuple[float, float]:
    """CPU and wall microseconds per request."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(requests):
        await call()
    return ((time.process_time() - cpu) / requests * 1e6,
            (time.perf_counter() - wall) / requests * 1e6)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        await prepare(url)
        settings = Settings(database_url=url, signing_key_file=str(Path(tmp) / "key.pem"),
                            rate_bucket=BOTTOMLESS, rate_restore=float(BOTTOMLESS))
        # One application; what changes between configurations is its buckets alone.
        app = create_app(settings)
        state = app.state.registry
        buckets: dict[str, Buckets | None] = {
            "no limiter": None,
            "memory buckets": MemoryBuckets(BOTTOMLESS, float(BOTTOMLESS)),
        }
        if await answers(args.redis_url):
            buckets["Redis buckets"] = RedisBuckets(args.redis_url, f"bench{time.time_ns()}",
                                                    BOTTOMLESS, float(BOTTOMLESS))
        else:
            print(f"Redis at {args.redis_url} does not answer: measured without it")
        token = state.issuer.issue(sub="bench.clerk", role="registry_clerk",
                                   client_id=CLI_CLIENT_ID, agency="REG-110000")
        call = asgi_post(app, token)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in buckets}
        names = list(buckets)
        try:
            for name in names:  # warm: caches, connections
                state.buckets = buckets[name]
                await measure(call, args.requests // 5)
            for round_ in range(args.rounds):
                turn = round_ % len(names)
                for name in names[turn:] + names[:turn]:  # each first in turn
                    state.buckets = buckets[name]
                    gc.collect()
                    samples[name].append(await measure(call, args.requests))
        finally:
            for each in buckets.values():
                if each is not None:
                    await each.close()
            state.buckets = None
            await state.close()
    report: dict[str, Any] = {}
    base_cpu = statistics.median(cpu for cpu, _ in samples["no limiter"])
    base_wall = statistics.median(wall for _, wall in samples["no limiter"])
    for name, values in samples.items():
        cpu = statistics.median(c for c, _ in values)
        wall = statistics.median(w for _, w in values)
        report[name] = {"cpu_us": round(cpu, 1), "wall_us": round(wall, 1),
                        "cpu_share": round((cpu - base_cpu) / cpu, 4),
                        "wall_share": round((wall - base_wall) / wall, 4)}
    return report


def run(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args(argv)
    report = asyncio.run(main(args))
    print(f"{'configuration':<16} {'CPU µs/req':>11} {'limiter CPU':>12} "
          f"{'wall µs/req':>12} {'limiter wall':>13}")
    for name, row in report.items():
        print(f"{name:<16} {row['cpu_us']:>11.1f} {row['cpu_share']:>12.1%} "
              f"{row['wall_us']:>12.1f} {row['wall_share']:>13.1%}")
    for name in ("memory buckets", "Redis buckets"):
        if name in report and report[name]["cpu_share"] > TARGET:
            print(f"BELOW TARGET: the limiter with {name} costs "
                  f"{report[name]['cpu_share']:.1%} of a {{ me }} (target {TARGET:.0%})")
    return report


if __name__ == "__main__":
    run()
