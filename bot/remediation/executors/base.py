"""What every executor gets: the seams to hosts and vCenter, settings, and a way to talk.

Each executor module holds one kind of step with its `check` (re-verify the preconditions
just before acting; raise PreconditionFailed, change nothing) and its `run` (act, verify,
return a one-line outcome; raise StepFailed saying what state the host is in)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.assess import Thresholds
from bot.clock import utcnow
from bot.esx.collect import collect_host
from bot.esx.report import HostReport
from bot.esx.transport import Transport
from bot.inventory import Inventory
from bot.remediation.plan import Step
from bot.vsphere.api import VCenter

Say = Callable[[str], Awaitable[None]]



@dataclass
class Executors:
    transport: Transport
    vcenter: VCenter
    inventory: Inventory
    thresholds: Thresholds = field(default_factory=Thresholds)
    dry_run: bool = False
    task_timeout: float = 600.0
    reboot_timeout: float = 1200.0
    poll_interval: float = 5.0
    clock: Callable[[], datetime] = utcnow
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def report(self, host: str) -> HostReport:
        return await collect_host(self.transport, self.inventory.get(host), now=self.clock())

    def deadline(self, seconds: float | None = None) -> float:
        return asyncio.get_running_loop().time() + (seconds or self.task_timeout)


class Executor(Protocol):
    async def check(self, step: Step, ex: Executors) -> None: ...

    async def run(self, step: Step, ex: Executors, say: Say) -> str: ...
