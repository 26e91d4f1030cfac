"""The interactive console: type `/aio` words, read the answer. Used by `aio-bot demo`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.console.output import emit
from bot.errors import AioBotError
from commands.context import Context
from commands.registry import Registry

PROMPT = "aio> "
BANNER = (
    "aio-bot console. Type a command as you would after /aio (try `help`, `top host01`, "
    "`scan all`); `quit` leaves."
)


async def console(registry: Registry, ctx: Context, *, fmt: str = "table",
                  read: Callable[[str], str] = input, write: Callable[[str], None] = print
                  ) -> int:
    write(BANNER)
    while True:
        try:
            line = await asyncio.to_thread(read, PROMPT)
        except (EOFError, KeyboardInterrupt):
            write("")
            return 0
        text = line.strip()
        if text in ("quit", "exit"):
            return 0
        if not text:
            continue
        try:
            write(emit(await registry.run(text, ctx), fmt))
        except AioBotError as err:
            write(f"error: {err}")
