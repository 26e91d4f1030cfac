"""The built-in demo: a simulated fleet of ESXi hosts behind real SSH on 127.0.0.1, the real
SSH transport pointed at it, a vCenter stand-in that moves VMs between the simulated hosts,
and a SQLite store for requests. Nothing to configure, nothing leaves the machine.

Identities in the demo: you are `@you`; `@alice` and `@bob` are the approvers."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.config import Config, RemediationConfig, SlackAccess
from bot.esx.ssh import SshSettings
from bot.esx.transport import Transport
from bot.gate import Caller
from bot.history.settings import HistorySettings
from bot.inventory import HostEntry, Inventory
from bot.remediation.service import Remediation
from bot.services import FleetSource, Services, open_services
from bot.sim.demo_fleet import (
    DEMO_SEED,
    build_fleet_dirs,
    demo_fleet_states,
    synthetic_fleet_states,
)
from bot.sim.sshd import SimSshFleet
from bot.sim.vcenter import SimVCenter
from bot.store import Store
from bot.vsphere.api import VCenter
from commands.context import Context

DEMO_USER = "@you"
DEMO_APPROVERS = ("@alice", "@bob")
DEMO_POLL_SECONDS = 0.5  # the simulated hosts reboot in a second or two


def demo_config(approvers: tuple[str, ...] = DEMO_APPROVERS, *,
                access: SlackAccess | None = None,
                remediation: RemediationConfig | None = None,
                history: HistorySettings | None = None) -> Config:
    """The demo's configuration: no hosts of its own (the fleet brings them), the approvers,
    remediation times short enough for simulated reboots."""
    access = access or SlackAccess()
    if approvers and not access.approvers:
        access = replace(access, approvers=approvers)
    return Config(inventory=Inventory([]), slack=access,
                  remediation=remediation or RemediationConfig(reboot_timeout_minutes=1.0),
                  history=history or HistorySettings())


@dataclass
class DemoFleet:
    """Start with `async with DemoFleet() as demo:`: the simulated hosts, then the bot's
    services on them through `open_services` (`demo.services`, `demo.context()`).
    `extra_hosts` adds synthetic hosts (`esx-sim-0001`, … in `sim-cluster-NN`) for load tests.
    `start()`/`stop()` alone run just the simulated hosts (the fleet's child process)."""

    workdir: Path | None = None
    now: datetime | None = None
    extra_hosts: int = 0
    vms_per_host: int = 12
    config: Config = field(default_factory=demo_config)
    store_url: str | None = None  # default: a SQLite file in the fleet's directory
    changes: bool = True  # with the vCenter stand-in, so that changes can be proposed
    with_store: bool = True  # False: no store at all (what a bot without one shows)

    def __post_init__(self) -> None:
        self._own_dir = self.workdir is None
        self.root = self.workdir or Path(tempfile.mkdtemp(prefix="aio-bot-demo-"))
        self.password = secrets.token_urlsafe(16)
        self.host_dirs: dict[str, Path] = {}
        self.clusters: dict[str, str] = {}
        self._fleet: SimSshFleet | None = None
        self.inventory = Inventory([])
        self._services: Services | None = None
        self._stack: AsyncExitStack | None = None

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

    def source(self, max_parallel: int = 32) -> FleetSource:
        """How the bot reaches this fleet: its hosts, SSH settings and vCenter stand-in."""
        ssh = SshSettings(known_hosts=self.fleet.known_hosts_path, password=self.password,
                          max_parallel=max_parallel)
        vcenter = SimVCenter(self.host_dirs, self.clusters) if self.changes else None
        return FleetSource(self.inventory, ssh, vcenter)

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

    @property
    def services(self) -> Services:
        assert self._services is not None, "DemoFleet not entered (async with)"
        return self._services

    @property
    def transport(self) -> Transport:
        return self.services.transport

    @property
    def vcenter(self) -> VCenter | None:
        return self.services.vcenter

    @property
    def store(self) -> Store | None:
        return self.services.store

    @property
    def remediation(self) -> Remediation | None:
        return self.services.remediation

    def context(self, caller: str = DEMO_USER, **kwargs: Any) -> Context:
        """A command context on the demo fleet, with changes enabled, for a console caller."""
        ctx = self.services.context(Caller(caller, "console"))
        for key, value in kwargs.items():
            setattr(ctx, key, value)
        return ctx

    async def __aenter__(self) -> DemoFleet:
        await asyncio.to_thread(self.start)
        self._stack = AsyncExitStack()
        try:
            self._services = await self._stack.enter_async_context(open_services(
                self.config, {}, fleet=self.source(),
                store_url=(self.store_url or str(self.root / "aio-bot.db")
                           if self.with_store else None),
                poll_interval=DEMO_POLL_SECONDS, migrate=True))
        except BaseException:
            await self._stack.aclose()
            await asyncio.to_thread(self.stop)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._stack is not None:
                await self._stack.aclose()
        finally:
            self._services = None
            await asyncio.to_thread(self.stop)
