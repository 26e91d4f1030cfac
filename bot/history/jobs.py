"""The scheduled work, as jobs for `bot.history.schedule.Scheduler`.

The engine part of each job is here; what to do with the results (post alert messages,
upload the digest) is the front end's callback:

```python
jobs = history_jobs(settings, store,
                    scan=lambda at: scan_and_alert(store, transport, inventory, thresholds, at,
                                                   policy=settings.alert_policy),  # + post
                    digest=lambda at: ...build_summary(...) and upload...)
await Scheduler(store, jobs).run(stop=stop_event)
```"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.assess import Thresholds
from bot.esx.collect import ScanOutcome, scan_hosts
from bot.esx.transport import CommandResult, Transport
from bot.history.alerts import AlertDecision, AlertPolicy, process_scan
from bot.history.schedule import Cron, Every, Job
from bot.history.settings import HistorySettings
from bot.history.snapshot import retention_cutoff
from bot.inventory import HostEntry
from bot.scanshare import SharedScans
from bot.store.api import Store
from bot.vsphere.api import VCenter

log = logging.getLogger(__name__)
VCENTER_TIMEOUT = 15.0

PRUNE_EVERY = timedelta(hours=1)


class TimedTransport:
    """A transport that adds up, per host, the seconds its commands took (a host's read
    time in a scan, queueing for a free slot left out)."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.seconds: dict[str, float] = {}

    async def run(self, host: HostEntry, command: str, *, timeout: float | None = None,
                  check: bool = True) -> CommandResult:
        started = time.perf_counter()
        try:
            return await self.inner.run(host, command, timeout=timeout, check=check)
        finally:
            took = time.perf_counter() - started
            self.seconds[host.name] = self.seconds.get(host.name, 0.0) + took

    async def close(self) -> None:
        """The inner transport belongs to its owner: nothing to close here."""


@dataclass
class BackgroundScan:
    """What one background scan saw and decided, for the alerts and the metrics."""

    outcomes: list[ScanOutcome]
    decisions: list[AlertDecision]
    seconds: float  # the whole scan's wall time
    host_seconds: dict[str, float] = field(default_factory=dict)


async def background_scan(store: Store, transport: Transport, hosts: Sequence[HostEntry],
                          thresholds: Thresholds, now: datetime, *, concurrency: int = 32,
                          policy: AlertPolicy | None = None,
                          maintenance: Collection[str] = (),
                          scanner: SharedScans | None = None) -> BackgroundScan:
    """One background scan: collect every host (timed), store the snapshots, decide the
    alerts (hosts in `maintenance` mode alert only when critical). With `scanner` the
    replicas share the reads (per-host times are then not measured here)."""
    timed = TimedTransport(transport)
    started = time.perf_counter()
    if scanner is not None:
        outcomes = await scanner.scan(hosts, now=now)
    else:
        outcomes = await scan_hosts(timed, hosts, concurrency=concurrency, now=now)
    seconds = time.perf_counter() - started
    decisions = await process_scan(store, outcomes, thresholds, now, policy=policy,
                                   maintenance=maintenance)
    return BackgroundScan(outcomes, decisions, seconds, timed.seconds)


async def hosts_in_maintenance(hosts: Sequence[HostEntry], vcenter: VCenter | None
                               ) -> frozenset[str]:
    """Hosts in maintenance mode: as the inventory last heard from vCenter, and as vCenter
    says now (when there is one; if it cannot answer, the inventory's word stands)."""
    names = {h.name for h in hosts if h.in_maintenance}
    if vcenter is not None:
        try:
            inventory = await asyncio.wait_for(vcenter.inventory(), VCENTER_TIMEOUT)
        except Exception as err:
            log.warning("vCenter could not say which hosts are in maintenance mode (%s)",
                        type(err).__name__)
        else:
            wanted = {h.name.lower(): h.name for h in hosts}
            names |= {wanted[v.name.lower()] for v in inventory.hosts
                      if v.in_maintenance and v.name.lower() in wanted}
    return frozenset(names)


async def scan_and_alert(store: Store, transport: Transport, hosts: Sequence[HostEntry],
                         thresholds: Thresholds, now: datetime, *, concurrency: int = 32,
                         policy: AlertPolicy | None = None,
                         maintenance: Collection[str] = ()) -> list[AlertDecision]:
    """One background scan: collect every host, store the snapshots, decide the alerts."""
    scan = await background_scan(store, transport, hosts, thresholds, now,
                                 concurrency=concurrency, policy=policy,
                                 maintenance=maintenance)
    return scan.decisions


def history_jobs(settings: HistorySettings, store: Store, *,
                 scan: Callable[[datetime], Awaitable[object]] | None = None,
                 digest: Callable[[datetime], Awaitable[object]] | None = None) -> list[Job]:
    """`scan` every `scan_interval` (when set), `digest` on `digest_cron` (when set), and the
    hourly retention prune."""
    jobs: list[Job] = []
    if scan is not None and settings.scan_interval is not None:
        jobs.append(Job("scan", Every(settings.scan_interval), scan))
    if digest is not None and settings.digest_cron:
        jobs.append(Job("digest", Cron.parse(settings.digest_cron), digest))

    async def prune(at: datetime) -> int:
        return await store.prune_snapshots(retention_cutoff(at, settings.retention))

    jobs.append(Job("prune", Every(PRUNE_EVERY), prune))
    return jobs
