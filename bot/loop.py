"""The event loop `aio-bot serve` and `aio-bot socket` run on: uvloop where it is installed
(a dependency on Linux and macOS), else asyncio's own.

The bot's front end is one event loop: accepting Slack's connections, reading their requests
and writing their acks is most of what a burst of slash commands costs it, and uvloop (libuv)
does that part in C. bench/load.py's acks under a full scan were 20-30% faster on it. Nothing
in the bot depends on which loop runs: blocking work goes to threads and processes either way.

`AIO_BOT_EVENT_LOOP=asyncio` keeps asyncio's loop (to rule uvloop out when chasing a fault)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from bot.errors import ConfigError

T = TypeVar("T")
ENV = "AIO_BOT_EVENT_LOOP"
CHOICES = ("uvloop", "asyncio")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's new_event_loop, or None (asyncio's default) when it is not installed or
    AIO_BOT_EVENT_LOOP says asyncio. An unknown value is a ConfigError, not a silent default."""
    wanted = os.environ.get(ENV, "").strip().lower() or "uvloop"
    if wanted not in CHOICES:
        raise ConfigError(f"{ENV} must be one of {', '.join(CHOICES)}, not {wanted[:40]!r}.")
    if wanted == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:  # a platform without its wheels: asyncio's loop does the same work
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(main) on the loop `loop_factory` picks."""
    try:
        factory = loop_factory()
    except ConfigError:
        main.close()  # never started: no "was never awaited" warning under the error
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def loop_name() -> str:
    """'uvloop' or 'asyncio': what the running loop is (for /healthz and the start-up line)."""
    module = type(asyncio.get_running_loop()).__module__
    return "uvloop" if module.startswith("uvloop") else "asyncio"
