"""The interactive console: type `/aio` words, read the answer. Used by `aio-bot demo`."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path

from bot.console.output import emit
from bot.errors import AioBotError
from commands.context import Context
from commands.registry import Registry

PROMPT = "aio> "
BANNER = (
    "aio-bot console. Type a command as you would after /aio (try `help`, `top host01`, "
    "`scan all`); `quit` leaves."
)


HISTORY_FILE = Path.home() / ".aio_bot_history"
HISTORY_LINES = 1000


async def console(registry: Registry, ctx: Context, *, fmt: str = "table",
                  read: Callable[[str], str] = input, write: Callable[[str], None] = print
                  ) -> int:
    """Read lines until `quit` or end of input; each runs through the registry (the gate,
    then the command), its words split as a shell would (`migrate "QA Win11 Desktop"`)."""
    if read is input and sys.stdin.isatty():
        _line_editing()
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


def _line_editing() -> None:
    """Arrow keys and a history kept across sessions (readline, where Python has it)."""
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input
        return
    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY_FILE)
    readline.set_history_length(HISTORY_LINES)
    atexit.register(_save_history, readline)


def _save_history(readline: object) -> None:
    with contextlib.suppress(OSError):
        readline.write_history_file(HISTORY_FILE)  # type: ignore[attr-defined]
