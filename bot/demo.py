"""The built-in demo: a simulated fleet of ESXi hosts behind real SSH on 127.0.0.1, the real
SSH transport pointed at it, a vCenter stand-in that moves VMs between the simulated hosts,
and a SQLite store for requests. Nothing to configure, nothing leaves the machine.

Identities in the demo: you are `@you`; `@alice` and `@bob` are the approvers."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.esx.ssh import SshSettings, SshTransport
from bot.inventory import HostEntry, Inventory
from bot.remediation.approval import ApprovalPolicy
from bot.remediation.executors.base import Executors
from bot.remediation.service import Remediation
from bot.sim.demo_fleet import (
    DEMO_SEED,
    build_fleet_dirs,
    demo_fleet_states,
    synthetic_fleet_states,
)
from bot.sim.sshd import SimSshFleet
from bot.sim.vcenter import SimVCenter
from bot.store import Store, open_store
from commands.context import Context

DEMO_USER = "@you"
DEMO_APPROVERS = ("@alice", "@bob")


@dataclass
class DemoFleet:
    """Start with `async with DemoFleet() as demo:`; `demo.inventory`, `demo.transport`.
    `extra_hosts` adds synthetic hosts (`esx-sim-0001`, … in `sim-cluster-NN`) for load tests."""

    workdir: Path | None = None
    now: datetime | None = None
    extra_hosts: int = 0
    vms_per_host: int = 12

    def __post_init__(self) -> None:
        self._own_dir = self.workdir is None
        self.root = self.workdir or Path(tempfile.mkdtemp(prefix="aio-bot-demo-"))
        self.password = secrets.token_urlsafe(16)
        self.host_dirs: dict[str, Path] = {}
        self.clusters: dict[str, str] = {}
        self._fleet: SimSshFleet | None = None
        self.inventory = Inventory([])
        self.transport: SshTransport | None = None
        self.vcenter: SimVCenter | None = None
        self.store: Store | None = None
        self.remediation: Remediation | None = None

    def start(self) -> None:
        states = demo_fleet_states(self.now or datetime.now(UTC))
        if self.extra_hosts > 0:
            states += synthetic_fleet_states(self.extra_hosts, self.vms_per_host, DEMO_SEED)
        self.clusters = {s.name: s.cluster for s in states}
        self.host_dirs = build_fleet_dirs(self.root / "hosts", states)
        self._fleet = SimSshFleet(self.host_dirs, password=self.password, workdir=self.root)
        self._fleet.start()
        self.inventory = Inventory(
            HostEntry(name, address, port, cluster=self.clusters[name])
            for name, address, port in self._fleet.entries()
        )
        settings = SshSettings(known_hosts=self._fleet.known_hosts_path, password=self.password)
        self.transport = SshTransport(settings)
        self.vcenter = SimVCenter(self.host_dirs, self.clusters)
        self.store = open_store(str(self.root / "aio-bot.db"))
        executors = Executors(self.transport, self.vcenter, self.inventory,
                              poll_interval=0.5, reboot_timeout=60.0, task_timeout=60.0)
        self.remediation = Remediation(self.store, executors,
                                       ApprovalPolicy(frozenset(DEMO_APPROVERS)))

    def stop(self) -> None:
        if self._fleet is not None:
            self._fleet.stop()
            self._fleet = None
        if self._own_dir:
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def fleet(self) -> SimSshFleet:
        assert self._fleet is not None, "DemoFleet not started"
        return self._fleet

    def context(self, caller: str = DEMO_USER, **kwargs: Any) -> Context:
        """A command context on the demo fleet, with changes enabled."""
        assert self.transport is not None, "DemoFleet not started"
        return Context(self.inventory, self.transport, caller=caller, vcenter=self.vcenter,
                       remediation=self.remediation, **kwargs)

    async def __aenter__(self) -> DemoFleet:
        await asyncio.to_thread(self.start)
        assert self.store is not None
        await self.store.migrate()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.transport is not None:
            await self.transport.close()
        if self.store is not None:
            await self.store.close()
        await asyncio.to_thread(self.stop)
