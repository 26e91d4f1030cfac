"""The one assembly: `open_services(config)` builds the running bot from configuration and
environment (inventory, SSH transport, vCenter, store, remediation service, history, the
gate) and closes it at the end. The CLI, the console, `aio-bot serve`, `aio-bot socket` and
the demo all use it; a front end adds only its own I/O.

    async with open_services(load_config()) as services:
        ctx = services.context(Caller("U0ALICE", "slack", channel="C0INCIDENT"))

Where the hosts are: the configured inventory, or a `FleetSource` (the simulated demo fleet,
in this process or a child) with its own SSH settings and vCenter stand-in."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.assess import Thresholds
from bot.clock import utcnow
from bot.config import Config, VCenterConfig, ssh_password, vcenter_password
from bot.esx.collect import Progress, scan_concurrency
from bot.esx.ssh import SshSettings, SshTransport
from bot.esx.transport import Transport
from bot.gate import Caller, Gate, GroupMembers
from bot.history.settings import HistorySettings
from bot.inventory import Inventory
from bot.remediation.executors.base import Executors
from bot.remediation.narrator import Narrator
from bot.remediation.service import Remediation
from bot.scanshare import SharedScans
from bot.store import ENV_VAR, StoreError, mask_url, open_store
from bot.store.api import Store
from bot.store.dburl import parse_url
from bot.store.scan_items import ScanItems
from bot.vsphere.api import VCenter
from commands.context import Context

if TYPE_CHECKING:  # pyVmomi is imported only when vCenter is configured
    from bot.vsphere.inventory_source import VCenterInventory

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FleetSource:
    """Hosts that are not the configuration's: the demo fleet's inventory, how to reach its
    simulated hosts, and its vCenter stand-in."""

    inventory: Inventory
    ssh: SshSettings
    vcenter: VCenter | None = None


@dataclass
class Services:
    """The running bot's parts. Built only by `open_services`."""

    config: Config
    inventory: Inventory
    transport: Transport
    gate: Gate
    concurrency: int
    vcenter: VCenter | None = None
    store: Store | None = None
    remediation: Remediation | None = None
    clock: Callable[[], datetime] = utcnow
    scanner: SharedScans | None = None  # fleet scans shared by replicas (PostgreSQL)

    @property
    def thresholds(self) -> Thresholds:
        return self.config.thresholds

    @property
    def history(self) -> HistorySettings:
        return self.config.history

    def context(self, caller: Caller, *, progress: Progress | None = None,
                narrator: Narrator | None = None) -> Context:
        """What one command run by `caller` may use."""
        transport = self.transport  # with SSH windows: opened on behalf of the caller
        for_actor = getattr(transport, "for_actor", None)
        if callable(for_actor):
            transport = for_actor(caller.user)
        return Context(self.inventory, transport, self.thresholds, caller=caller.user,
                       concurrency=self.concurrency, progress=progress, clock=self.clock,
                       vcenter=self.vcenter, remediation=self.remediation, store=self.store,
                       channel=caller.channel, narrator=narrator, front=caller.front,
                       team=caller.team, direct=caller.direct, gate_=self.gate,
                       scanner=self.scanner)


def ssh_settings(config: Config, env: Mapping[str, str] = os.environ) -> SshSettings:
    """SSH settings from `[ssh]` and `AIO_SSH_PASSWORD`: built here, and only here."""
    ssh = config.ssh
    return SshSettings(known_hosts=ssh.known_hosts, password=ssh_password(env),
                       key_file=ssh.key_file, connect_timeout=ssh.connect_timeout,
                       command_timeout=ssh.command_timeout, max_parallel=ssh.max_parallel)


def pyvmomi_vcenter(config: VCenterConfig, env: Mapping[str, str] = os.environ) -> VCenter:
    """The real vCenter from [vcenter] and AIO_VCENTER_PASSWORD (no connection yet)."""
    from bot.vsphere.client import PyVmomiVCenter
    from bot.vsphere.settings import VCenterSettings

    return PyVmomiVCenter(VCenterSettings(
        host=config.host, user=config.user, password=vcenter_password(env), port=config.port,
        ca_file=config.ca_file, pinned_sha256=config.pinned_sha256, insecure=config.insecure))


def wants_store(config: Config, env: Mapping[str, str], has_vcenter: bool) -> bool:
    """A store is opened when one is named (`AIO_BOT_DB`), or changes or history need it."""
    history = config.history
    return (bool(env.get(ENV_VAR, "").strip()) or has_vcenter
            or history.scan_interval is not None or bool(history.digest_cron))


@asynccontextmanager
async def open_services(config: Config, env: Mapping[str, str] = os.environ, *,
                        fleet: FleetSource | None = None, store_url: str | None = None,
                        group_members: GroupMembers | None = None,
                        poll_interval: float = 5.0,
                        store_optional: bool = False,
                        migrate: bool = False,
                        ssh_workers: bool = False) -> AsyncIterator[Services]:
    """Build the bot from `config` (and `env` for secrets and the store URL), or from
    `fleet` for the hosts; close everything it opened at the end. With `store_optional`
    (one command from the CLI) a store that cannot be reached is said once and left out:
    reads still work, changes and audits say that they need it. `migrate`: bring any store's
    schema up to date here (the demo's own store); else only a SQLite file's. `ssh_workers`
    (the Slack front ends): SSH reads in `[ssh] worker_processes` child processes, so the
    event loop that acks Slack never waits on them (`bot.esx.ssh_workers`)."""
    async with AsyncExitStack() as stack:
        inventory = fleet.inventory if fleet else config.inventory
        ssh = fleet.ssh if fleet else ssh_settings(config, env)
        transport = await _transport(ssh, config.ssh.worker_processes if ssh_workers else 0)
        stack.push_async_callback(transport.close)
        vcenter = fleet.vcenter if fleet else (
            pyvmomi_vcenter(config.vcenter, env) if config.vcenter else None)
        if vcenter is not None:
            stack.push_async_callback(vcenter.close)
        gate = Gate.from_config(config.slack, config.remediation)
        gate.group_members = group_members
        services = Services(config, inventory, transport, gate,
                            scan_concurrency(ssh.max_parallel), vcenter)
        url = store_url or env.get(ENV_VAR, "").strip() or "aio-bot.db"
        if store_url or wants_store(config, env, vcenter is not None):
            services.store = await _open_store(stack, url, optional=store_optional,
                                               migrate=migrate)
        if fleet is None and config.vcenter is not None:
            await _hosts_through_vcenter(stack, services, vcenter)
        if isinstance(services.store, ScanItems) and services.store.shares_scans:
            services.scanner = _shared_scans(stack, services, worker=not store_optional)
        if vcenter is not None and services.store is not None:
            services.remediation = _remediation(services, vcenter, services.store,
                                                poll_interval)
            gate.open_proposals = services.remediation.open_proposals
        yield services


async def _transport(ssh: SshSettings, processes: int) -> Transport:
    """SSH in this process, or in `processes` worker processes started now (not with the
    first command, which would then wait for them, and a burst's acks with it)."""
    if processes <= 0:
        return SshTransport(ssh)
    from bot.esx.ssh_workers import WorkerTransport

    workers = WorkerTransport(ssh, processes)
    await workers.start()
    return workers


def _shared_scans(stack: AsyncExitStack, services: Services, *, worker: bool) -> SharedScans:
    """Replicas on one PostgreSQL store split fleet scans into per-host work items; every
    long-running replica takes items from the start (a one-command CLI only for its own)."""
    assert isinstance(services.store, ScanItems)
    shared = SharedScans(services.store, services.transport, services.inventory,
                         concurrency=services.concurrency, clock=services.clock,
                         lease=max(30.0, 1.5 * services.config.ssh.command_timeout))
    stack.push_async_callback(shared.stop)
    if worker:
        shared.start()
    return shared


async def _hosts_through_vcenter(stack: AsyncExitStack, services: Services,
                                 vcenter: VCenter | None) -> None:
    """[inventory] source = "vcenter"|"both": the hosts discovered in vCenter, kept current
    in the background and on demand (`Inventory.refresh`); and the transport behind
    vCenter's view of the hosts: disconnected hosts said at once, SSH windows with
    `ssh.enable_on_demand` (every start and stop in the store's audit trail)."""
    from bot.vsphere.windowed import VCenterTransport

    session = getattr(vcenter, "session", None)
    if session is None:  # not pyVmomi's (a test's stand-in): nothing to discover with
        return
    config = services.config
    if config.hosts_from.from_vcenter:
        services.inventory = await _discovered(stack, config, session)
    windows = None
    if config.ssh.enable_on_demand:
        from bot.vsphere.ssh_window import SshWindows

        windows = SshWindows(session, _audit_into(services), enable_on_demand=True,
                             max_window=config.ssh.max_window_minutes * 60,
                             linger=SSH_WINDOW_LINGER)
        stack.push_async_callback(windows.close)
    services.transport = VCenterTransport(services.transport, windows,
                                          file_hosts_outside=config.hosts_from.source == "both")


SSH_WINDOW_LINGER = 5.0  # seconds a window stays open after a read, for the next command line


def vcenter_inventory(config: Config, session: object) -> VCenterInventory:
    """The inventory [inventory] asks for, discovered through `session` (not yet)."""
    from bot.vsphere.discovery import DiscoveryFilter
    from bot.vsphere.inventory_source import VCenterInventory
    from bot.vsphere.merge import HostOverride, inventory_source
    from bot.vsphere.session import Session

    assert isinstance(session, Session)
    wanted = config.hosts_from
    return VCenterInventory(
        session, source=inventory_source(wanted.source),
        filters=DiscoveryFilter(clusters=wanted.clusters, datacenters=wanted.datacenters,
                                gpu_only=wanted.gpu_hosts_only,
                                address_template=wanted.address_template,
                                read_vms=wanted.read_vms),
        overrides=[HostOverride.from_entry(h, config.ssh.username) for h in config.inventory],
        default_username=config.ssh.username,
        refresh_seconds=wanted.refresh_minutes * 60)


async def configured_inventory(config: Config,
                               env: Mapping[str, str] = os.environ) -> Inventory:
    """The configuration's hosts once, discovered in vCenter when [inventory] says so (for
    `aio-bot known-hosts`, which needs no other part of the bot)."""
    if not config.hosts_from.from_vcenter or config.vcenter is None:
        return config.inventory
    vcenter = pyvmomi_vcenter(config.vcenter, env)
    try:
        return await vcenter_inventory(config, getattr(vcenter, "session", None)).refresh()
    finally:
        await vcenter.close()


async def _discovered(stack: AsyncExitStack, config: Config, session: object) -> Inventory:
    import asyncio

    source = vcenter_inventory(config, session)
    inventory = await source.refresh()  # VCenterError when vCenter cannot be read at all
    task = asyncio.get_running_loop().create_task(source.keep_fresh(),
                                                  name="aio-inventory-refresh")

    async def stop() -> None:
        task.cancel()
        await asyncio.wait({task}, timeout=5.0)

    stack.push_async_callback(stop)
    return inventory


def _audit_into(services: Services) -> Callable[[str, str, dict[str, Any]], Awaitable[None]]:
    """SSH windows' starts and stops into the store's audit trail (actor: who asked)."""
    async def audit(host: str, event: str, detail: dict[str, Any]) -> None:
        if services.store is None:
            log.error("ssh window on %s: %s by %s, not audited: no store", host, event,
                      detail.get("actor"))
            return
        await services.store.audit(None, host, str(detail["actor"]), event, detail,
                                   now=services.clock())
    return audit


async def _open_store(stack: AsyncExitStack, url: str, *, optional: bool,
                      migrate: bool) -> Store | None:
    """The store, its schema checked: a SQLite file (one process, no roles) is brought up to
    date here; a PostgreSQL schema only by `aio-bot migrate`, run by its owner, so that the bot
    itself can run under a role that may not alter tables (docs/database.md)."""
    store = open_store(url)
    stack.push_async_callback(store.close)
    try:
        if parse_url(url).backend == "postgres" and not migrate:
            await store.require_schema()
        else:
            await store.migrate()
    except StoreError as err:
        if not optional:
            raise
        log.warning("%s Going on without it: changes and audits need it.", err)
        return None
    return store


@asynccontextmanager
async def open_store_only(env: Mapping[str, str] = os.environ, *,
                          migrate: bool = False) -> AsyncIterator[tuple[Store, str]]:
    """The store alone (`aio-bot migrate`, `aio-bot audit verify`): from `AIO_BOT_DB` or the
    default file, with its URL masked for showing. `migrate` brings its schema up to date;
    else the schema must already be this aio-bot's."""
    url = env.get(ENV_VAR, "").strip() or "aio-bot.db"
    store = open_store(url)
    try:
        await (store.migrate() if migrate else store.require_schema())
        yield store, mask_url(url)
    finally:
        await store.close()


def _remediation(services: Services, vcenter: VCenter, store: Store,
                 poll_interval: float) -> Remediation:
    settings = services.config.remediation
    executors = Executors(services.transport, vcenter, services.inventory,
                          services.thresholds, dry_run=settings.dry_run,
                          reboot_timeout=settings.reboot_timeout_minutes * 60,
                          poll_interval=poll_interval)
    return Remediation(store, executors, services.gate,
                       timedelta(minutes=settings.expiry_minutes),
                       lease_ttl=settings.lease_seconds)
