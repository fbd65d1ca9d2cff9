"""Structured logs that carry the request id.

`request_id_var` holds the id of the request being handled; the API binds it per HTTP request and
the worker per claimed request (`with bind_request_id(row.id): ...`). asyncio tasks copy the
context when created, so work spawned inside the block keeps the id. Every record then carries
`request_id` (None outside a request) and any `extra={...}` fields.

Formats: `json` (one object per line: ts, level, logger, msg, request_id, extras, exc) for log
shippers, or `text` (readable: `2025-01-01T00:00:00.000Z INFO  opendream.worker [req=abc] msg
key=value`). `OPENDREAM_LOG_FORMAT=json` selects JSON when no format is passed.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any, Literal

LogFormat = Literal["json", "text"]

request_id_var: ContextVar[str | None] = ContextVar("opendream_request_id", default=None)

# attributes every LogRecord has; anything else on a record came from `extra=`
_STANDARD = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "", None, None)).keys()
    | {"message", "asctime", "request_id", "taskName"}
)


@contextmanager
def bind_request_id(request_id: str | None) -> Iterator[None]:
    token = request_id_var.set(request_id)
    try:
        yield
    finally:
        request_id_var.reset(token)


class RequestIdFilter(logging.Filter):
    """Stamps the current request id on each record unless the call passed one explicitly."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in _extras(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: an odd extra (a Path, a datetime) must never make logging itself fail
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), f"{record.levelname:<5}", record.name]
        request_id = getattr(record, "request_id", None)
        if request_id:
            parts.append(f"[req={request_id}]")
        parts.append(record.getMessage())
        parts.extend(f"{k}={_text_value(v)}" for k, v in _extras(record).items())
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


def _text_value(value: Any) -> str:
    text = str(value)
    if not text or any(c.isspace() or c in '"=' for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


class _OpendreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler configure_logging installed, so calling it again replaces it."""


def configure_logging(
    level: int | str = "INFO", fmt: LogFormat | str | None = None, stream: IO[str] | None = None
) -> logging.Handler:
    """Installs one handler on the root logger (replacing one installed earlier by this function,
    leaving others alone) and returns it. `fmt` None reads OPENDREAM_LOG_FORMAT (default text)."""
    chosen = (fmt or os.environ.get("OPENDREAM_LOG_FORMAT") or "text").strip().lower()
    if chosen not in ("json", "text"):
        raise ValueError(f"log format must be 'json' or 'text', got {chosen!r}")
    if isinstance(level, str):
        numeric = logging.getLevelName(level.upper())
        if not isinstance(numeric, int):
            raise ValueError(f"unknown log level {level!r}")
        level = numeric
    handler = _OpendreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OpendreamHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
