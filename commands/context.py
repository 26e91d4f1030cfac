"""What a command may use: the inventory, the transport to hosts, settings, the caller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.assess import Thresholds
from bot.esx.collect import Progress
from bot.esx.transport import Transport
from bot.inventory import Inventory
from bot.remediation.executors.base import Say
from bot.remediation.service import Remediation
from bot.store.api import Store
from bot.vsphere.api import VCenter


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    inventory: Inventory
    transport: Transport
    thresholds: Thresholds = field(default_factory=Thresholds)
    caller: str = "console"
    concurrency: int = 32
    progress: Progress | None = None
    clock: Callable[[], datetime] = _utcnow
    vcenter: VCenter | None = None
    remediation: Remediation | None = None
    store: Store | None = None  # history without changes; else the remediation's store
    channel: str | None = None
    say: Say | None = None  # progress of changes (console: print; Slack: the thread)
    may_act_as_others: bool = False  # the console's `approve 1 as @bob`
