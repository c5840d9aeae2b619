"""`python -m tests.bench.observe`: what the request's log line and metrics cost a `{ me }`.

A measurement, not a test, made as tests/bench/limiter.py makes its own: one application
called through ASGI, the process's CPU time per request compared between configurations
that take turns in short batches (medians over batches). What changes is the observer at
the end of every request (api/observe.py) alone:

- nothing observed (the observer and the endpoint's note of the operation switched off),
- metrics only (the request logger below INFO: the line is never built),
- metrics and the JSON line (api/logs.JsonFormatter to a file, as `registry serve` writes),
- metrics and the text line,
- metrics in multiprocess mode (values in memory-mapped files, as with `--workers N`) and
  the JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import statistics
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client import values

import api.graphql
import api.observe
from api.app import create_app
from api.auth import CLI_CLIENT_ID
from api.logs import JsonFormatter, TextFormatter
from api.metrics import MULTIPROC_VARIABLE, Metrics
from api.observe import REQUEST_LOGGER, RequestObserver
from api.settings import Settings
from api.transport import ResponseHeaders
from db.migrate import upgrade
from tests.bench.limiter import BOTTOMLESS, asgi_post, measure, prepare


def observer_of(app: Any) -> RequestObserver:
    layer = app.middleware_stack
    while not isinstance(layer, ResponseHeaders):
        layer = layer.app
    assert isinstance(layer.observer, RequestObserver)
    return layer.observer


def multiprocess_metrics(directory: str) -> Metrics:
    """Metrics whose values live in files of `directory`, as in a worker of `--workers N`."""
    kept = values.ValueClass
    os.environ[MULTIPROC_VARIABLE] = directory
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    try:
        return Metrics()
    finally:
        values.ValueClass = kept


@contextmanager
def configurations(app: Any, log_file: Path, directory: str
                   ) -> Iterator[dict[str, Callable[[], None]]]:
    observer = observer_of(app)
    plain_metrics, mmap_metrics = observer.metrics, multiprocess_metrics(directory)
    noted = api.observe.note_operation
    logger = logging.getLogger(REQUEST_LOGGER)
    handler = logging.StreamHandler(log_file.open("a"))
    logger.addHandler(handler)
    logger.propagate = False

    def use(*, observe: bool = True, level: int = logging.INFO,
            formatter: logging.Formatter | None = None,
            metrics: Metrics = plain_metrics) -> Callable[[], None]:
        def switch() -> None:
            setattr(api.graphql, "note_operation", noted if observe else _nothing)  # noqa: B010
            observer.__dict__.pop("observe", None)
            if not observe:
                observer.observe = _nothing  # type: ignore[method-assign]
            observer.metrics = metrics
            logger.setLevel(level)
            handler.setFormatter(formatter or JsonFormatter())
        return switch

    try:
        yield {
            "nothing observed": use(observe=False),
            "metrics only": use(level=logging.WARNING),
            "metrics + JSON line": use(formatter=JsonFormatter()),
            "metrics + text line": use(formatter=TextFormatter()),
            "mmap metrics + JSON": use(formatter=JsonFormatter(), metrics=mmap_metrics),
        }
    finally:
        use()()
        logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
        handler.stream.close()
        os.environ.pop(MULTIPROC_VARIABLE, None)


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        await prepare(url)
        settings = Settings(database_url=url, signing_key_file=str(Path(tmp) / "key.pem"),
                            rate_bucket=BOTTOMLESS, rate_restore=float(BOTTOMLESS))
        app = create_app(settings)
        state = app.state.registry
        token = state.issuer.issue(sub="bench.clerk", role="registry_clerk",
                                   client_id=CLI_CLIENT_ID, agency="REG-110000")
        call = asgi_post(app, token)
        await call()  # builds the middleware stack
        metrics_dir = Path(tmp) / "metrics"
        metrics_dir.mkdir()
        try:
            with configurations(app, Path(tmp) / "requests.log", str(metrics_dir)) as setups:
                names = list(setups)
                samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
                for name in names:  # warm
                    setups[name]()
                    await measure(call, args.requests // 5)
                for round_ in range(args.rounds):
                    turn = round_ % len(names)
                    for name in names[turn:] + names[:turn]:
                        setups[name]()
                        gc.collect()
                        samples[name].append(await measure(call, args.requests))
        finally:
            await state.close()
    base = statistics.median(cpu for cpu, _ in samples["nothing observed"])
    report: dict[str, Any] = {}
    for name, measured in samples.items():
        cpu = statistics.median(c for c, _ in measured)
        report[name] = {"cpu_us": round(cpu, 1), "extra_us": round(cpu - base, 1),
                        "share": round((cpu - base) / cpu, 4)}
    return report


def run(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args(argv)
    report = asyncio.run(main(args))
    print(f"{'configuration':<22} {'CPU µs/req':>11} {'extra µs':>9} {'share':>7}")
    for name, row in report.items():
        print(f"{name:<22} {row['cpu_us']:>11.1f} {row['extra_us']:>9.1f} {row['share']:>7.1%}")
    return report


if __name__ == "__main__":
    run()
