"""The event loop `aio-bot serve` and `aio-bot socket` run on: asyncio's own, or uvloop when
`AIO_BOT_EVENT_LOOP=uvloop` asks for it (`pip install 'aio-bot[uvloop]'`).

asyncio's is the default because of what the benchmarks showed on 2 cores. uvloop acks a
burst of slash commands faster at the median (bench/ack.py --no-scan: p50 28-32 ms against
37-40 ms). But when a burst comes while the previous burst's commands still wait for their
turns (bot.ack_first), it answered the burst one request every 3 ms: p99 218-258 ms against
asyncio's 56-65 ms. Nothing in the bot depends on which loop runs: blocking work goes to
threads and processes either way."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from bot.errors import ConfigError

T = TypeVar("T")
ENV = "AIO_BOT_EVENT_LOOP"
CHOICES = ("asyncio", "uvloop")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """None (asyncio's default loop), or uvloop's new_event_loop when AIO_BOT_EVENT_LOOP says
    uvloop. An unknown value, or uvloop asked for and not installed, is a ConfigError."""
    wanted = os.environ.get(ENV, "").strip().lower() or "asyncio"
    if wanted not in CHOICES:
        raise ConfigError(f"{ENV} must be one of {', '.join(CHOICES)}, not {wanted[:40]!r}.")
    if wanted == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        raise ConfigError(f"{ENV}=uvloop needs uvloop: pip install 'aio-bot[uvloop]'.") from None
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
    """'uvloop' or 'asyncio': what the running loop is (for /healthz)."""
    module = type(asyncio.get_running_loop()).__module__
    return "uvloop" if module.startswith("uvloop") else "asyncio"
