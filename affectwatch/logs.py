"""Logging for every process: text lines (the default) or one JSON object per line.

AFFECTWATCH_LOG_FORMAT=json writes each record as JSON with time, level, logger and message, the
exception when there is one, and the ids of what was being worked on: a producer's camera thread
logs with its camera_id, a worker's job with camera_id and job_id, an alert delivery with its
delivery_id. Code marks what it works on with `with fields(camera_id=3):`; every line logged inside
(in that thread) carries the fields: in JSON as keys, in text as ` camera_id=3` at the end of the line.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s%(context)s"
_fields: ContextVar[dict[str, Any] | None] = ContextVar("affectwatch_log_fields", default=None)


@contextmanager
def fields(**values: Any) -> Iterator[None]:
    """Add these fields to every record logged inside the block (this thread or task only)."""
    token = _fields.set({**(_fields.get() or {}), **values})
    try:
        yield
    finally:
        _fields.reset(token)


def current() -> dict[str, Any]:
    return dict(_fields.get() or {})


class ContextFilter(logging.Filter):
    """Puts the block's fields on each record (as record.context_fields and a text suffix)."""

    def filter(self, record: logging.LogRecord) -> bool:
        found = {**current(), **getattr(record, "context_fields", {})}
        record.context_fields = found
        record.context = "".join(f" {k}={v}" for k, v in found.items()) if found else ""
        return True


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update(getattr(record, "context_fields", {}))
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


class _OwnHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler configure() installs, so that configuring again replaces it and nothing else."""


def configure(level: str, fmt: str = "text") -> None:
    """Log to stderr at `level` in `fmt` (text or json), replacing the handler an earlier call installed
    (handlers others put on the root logger, a test runner's say, stay)."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}")
    handler = _OwnHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JSONFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OwnHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
