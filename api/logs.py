"""What `registry serve` writes to stderr (README "Logs"): one JSON object per line, or plain
text, at `REGISTRY_LOG_LEVEL` and above, for the registry's own loggers and uvicorn's alike.

Configured once per process by `registry serve` (uvicorn applies `log_config` in its
supervisor and in every worker it starts), never by the app factory: the tests build many
apps in one process and keep pytest's own log capture.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from api.settings import Settings

# A record's attributes that are not its own fields: every LogRecord's, and uvicorn's copy of
# each message with terminal colours in it.
NOT_FIELDS = frozenset({*logging.makeLogRecord({}).__dict__, "message", "asctime", "taskName",
                        "color_message"})
QUIET = ("py_abac", "alembic")


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", <the record's extra fields>}`, time in UTC.

    A few lines of its own rather than a library's: it formats every request's line
    (api/observe.py), and builds nothing but one dict and one `json` encoding of it (the
    time's date and seconds once a second)."""

    def __init__(self) -> None:
        super().__init__()
        self._encode = json.JSONEncoder(default=str).encode
        self._second = -1
        self._prefix = ""

    def format(self, record: logging.LogRecord) -> str:
        created = record.created
        second = int(created)
        if second != self._second:  # one strftime a second, not one a line
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        entry = {"time": f"{self._prefix}.{int((created - second) * 1_000_000):06d}Z",
                 "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        for key, value in record.__dict__.items():
            if key not in NOT_FIELDS:
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return self._encode(entry)


class TextFormatter(logging.Formatter):
    """`time level logger message key=value ...`: the extra fields on the message's line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        line = super().formatMessage(record)
        fields = [f"{key}={value}" for key, value in record.__dict__.items()
                  if key not in NOT_FIELDS]
        return f"{line} {' '.join(fields)}" if fields else line


def log_config(settings: Settings) -> dict[str, Any]:
    """`logging.config.dictConfig` of a served process (uvicorn's `log_config`)."""
    level = settings.log_level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "api.logs.JsonFormatter"},
                       "text": {"()": "api.logs.TextFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": settings.log_format}},
        # uvicorn's loggers keep no handler of their own: their lines go through the root's.
        # py-abac logs every policy it loads at INFO (dozens of lines per reload), alembic
        # its plugins (the readiness check): their warnings are enough.
        "loggers": {"uvicorn": {"level": level, "handlers": [], "propagate": True},
                    **{name: {"level": max(level, "WARNING", key=logging.getLevelName)}
                       for name in QUIET}},
        "root": {"level": level, "handlers": ["stderr"]},
    }
