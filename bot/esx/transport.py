"""The one seam to ESXi hosts: run a fixed command line on a host, get its output back.

Everything above it (collectors, commands, tests) sees only this interface. The SSH
implementation lives in `bot.esx.ssh`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.inventory import HostEntry


@dataclass(frozen=True, slots=True)
class CommandResult:
    host: str
    command: str
    stdout: str
    stderr: str
    exit_status: int
    bytes_received: int


class Transport(Protocol):
    async def run(
        self, host: HostEntry, command: str, *, timeout: float | None = None, check: bool = True
    ) -> CommandResult:
        """Run `command` (a constant from `bot.esx.commandlines`, never user text) on `host`.

        Raises a `bot.errors.HostError` subclass on failure; with `check`, a non-zero exit
        status raises `CommandFailed`."""
        ...

    async def close(self) -> None:
        """Close every connection."""
        ...
