"""What a command may use: the inventory, the transport to hosts, settings, and who is asking
(the caller and the gate that decides what they may do)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.assess import Thresholds
from bot.clock import utcnow
from bot.esx.collect import Progress
from bot.esx.transport import Transport
from bot.gate import Caller, Gate
from bot.inventory import Inventory
from bot.remediation.narrator import Narrator
from bot.remediation.service import Remediation
from bot.scanshare import SharedScans
from bot.store.api import Store
from bot.vsphere.api import VCenter

_OPEN_GATE = Gate()  # no store, no approvers: reads pass, approvals are refused


@dataclass
class Context:
    inventory: Inventory
    transport: Transport
    thresholds: Thresholds = field(default_factory=Thresholds)
    caller: str = "console"  # the user: a Slack user ID, or the console's / CLI's name
    concurrency: int = 32
    progress: Progress | None = None
    clock: Callable[[], datetime] = utcnow
    vcenter: VCenter | None = None
    remediation: Remediation | None = None
    store: Store | None = None  # history without changes; else the remediation's store
    channel: str | None = None
    narrator: Narrator | None = None  # progress of changes (console: print; Slack: thread)
    front: str = "console"  # slack | console | cli (bot.gate.Caller.front)
    team: str | None = None  # the caller's Slack workspace
    direct: bool = False  # a direct message with the bot
    gate_: Gate | None = None  # the assembly's gate; else the remediation's, else an open one
    scanner: SharedScans | None = None  # replicas on PostgreSQL share fleet scans

    @property
    def principal(self) -> Caller:
        return Caller(self.caller, self.front, self.channel, self.team, self.direct)

    @property
    def gate(self) -> Gate:
        if self.gate_ is not None:
            return self.gate_
        if self.remediation is not None:
            return self.remediation.gate
        return _OPEN_GATE

    @property
    def may_act_as_others(self) -> bool:
        """`approve 3 as U0BOB`: only where the caller is the machine's operator."""
        return self.principal.local
