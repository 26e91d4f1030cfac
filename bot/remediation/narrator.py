"""How a running change tells people what it does. The remediation service calls a narrator;
front ends provide one: the console prints, Slack posts in the request's thread and keeps the
request's message up to date."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.store.api import Request

Say = Callable[[str], Awaitable[None]]


class Narrator(Protocol):
    async def progress(self, request: Request, text: str) -> None:
        """A line about the change under way (a step started, done, failed)."""
        ...

    async def changed(self, request: Request, note: str | None = None) -> None:
        """The request's state changed (running, ended, or found closed)."""
        ...


@dataclass(frozen=True)
class SayNarrator:
    """Progress lines to one `say` (the console prints them); state changes unsaid."""

    say: Say

    async def progress(self, request: Request, text: str) -> None:
        await self.say(text)

    async def changed(self, request: Request, note: str | None = None) -> None:
        return None


class Quiet:
    async def progress(self, request: Request, text: str) -> None:
        return None

    async def changed(self, request: Request, note: str | None = None) -> None:
        return None


QUIET = Quiet()
