"""Logging set-up for every front end: `--log-format json|text`, the level from `LOG_LEVEL`
(`-v` means DEBUG and wins), and the context of the work being done — request ID, host,
user — carried in context variables (set by the Slack dispatch for each command) and written
on every line. Secrets are redacted by `bot.redact`'s filter on the handler, which runs
before either formatter.

A JSON line: {"time": "2026-05-04T09:00:00.123Z", "level": "WARNING", "logger": "bot.x",
"message": "...", "request_id": "Ev0…", "host": "host01", "user": "U0ALICE"} (the last three
only when known; "exception" with the redacted traceback when there is one)."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO

from bot import redact

FORMATS = ("text", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s%(context)s"
CONTEXT = ("request_id", "host", "user")
_VARS: dict[str, ContextVar[str | None]] = {
    name: ContextVar(f"aio_bot_{name}", default=None) for name in CONTEXT}


def bind(**values: str | None) -> None:
    """Set request_id, host and/or user for the rest of this task (asyncio copies the
    context into every task it creates, so a command's task has its own)."""
    for name, value in values.items():
        _VARS[name].set(value or None)


@contextmanager
def bound(**values: str | None) -> Iterator[None]:
    """`bind` for a block only."""
    tokens = [(_VARS[n], _VARS[n].set(v or None)) for n, v in values.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def current() -> dict[str, str]:
    return {name: value for name in CONTEXT if (value := _VARS[name].get())}


class ContextFilter(logging.Filter):
    """Puts the context variables on the record (`record.request_id` …, and `context`, the
    text formatter's ` [request_id=… host=… user=…]` suffix)."""

    def filter(self, record: logging.LogRecord) -> bool:
        known = current()
        for name in CONTEXT:
            setattr(record, name, known.get(name))
        record.context = (" [" + " ".join(f"{k}={v}" for k, v in known.items()) + "]"
                          if known else "")
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT:
            value = getattr(record, name, None)
            if value:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def level_from(env: Mapping[str, str], verbose: bool) -> tuple[int, str | None]:
    """The level (-v: DEBUG; else LOG_LEVEL; else WARNING) and a complaint about a bad
    LOG_LEVEL, if any."""
    if verbose:
        return logging.DEBUG, None
    wanted = env.get("LOG_LEVEL", "").strip().upper()
    if not wanted:
        return logging.WARNING, None
    if wanted in LEVELS:
        return int(getattr(logging, wanted)), None
    return logging.WARNING, (f"LOG_LEVEL={wanted[:20]!r} is not one of {', '.join(LEVELS)}; "
                             "using WARNING")


class StderrHandler(logging.StreamHandler[IO[str]]):
    """A StreamHandler on the `sys.stderr` of the moment each line is written (as
    `logging.lastResort` is), unless given a stream of its own: a stderr replaced since
    `configure` — and perhaps closed, as pytest closes each test's capture stream — is never
    written to, so a later line is never a "--- Logging error ---" traceback instead."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        logging.Handler.__init__(self)  # not StreamHandler's: it would fix sys.stderr now
        self._stream = stream

    @property
    def stream(self) -> IO[str]:
        return self._stream if self._stream is not None else sys.stderr

    @stream.setter
    def stream(self, value: IO[str] | None) -> None:  # setStream: that stream from now on
        self._stream = value


def current_setup() -> tuple[str, int]:
    """The format and level `configure` set (for a child process to log the same way)."""
    root = logging.getLogger()
    json_lines = any(isinstance(h.formatter, JsonFormatter) for h in root.handlers)
    return ("json" if json_lines else "text"), root.level


def configure(fmt: str = "text", *, verbose: bool = False,
              env: Mapping[str, str] = os.environ, stream: IO[str] | None = None) -> None:
    """Replace the root logger's handlers with one on `stream` (default: whatever stderr is
    when a line is written) in `fmt`, with the context and redaction filters. Calling it
    again replaces that handler: there is only ever one."""
    level, complaint = level_from(env, verbose)
    handler = StderrHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        if isinstance(old, StderrHandler):
            old.close()  # ours (an earlier configure): nothing else holds it
    root.addHandler(handler)
    root.setLevel(level)
    redact.install()  # after the context filter: the redaction sees the final message
    if complaint:
        logging.getLogger("bot").warning("%s", complaint)
