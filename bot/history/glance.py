"""The fleet at a glance, for the App Home tab: hosts by risk, open incidents, pending
approvals. From the store only (the latest snapshot per host): opening the tab never scans."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.assess import Thresholds
from bot.history.fleet import (
    ClusterCounts,
    HostsByRisk,
    HostStatus,
    cluster_counts,
    host_statuses,
)
from bot.history.records import AlertRecord
from bot.store.api import Request, State, Store


@dataclass(frozen=True)
class GlanceResult(HostsByRisk):
    now: datetime
    as_of: datetime | None  # the newest snapshot's time; None when nothing was scanned yet
    hosts: list[HostStatus]  # riskiest first
    clusters: list[ClusterCounts]
    open_incidents: list[AlertRecord]  # oldest first
    pending_approvals: list[Request]  # proposed and not expired, oldest first
    stale: list[str] = field(default_factory=list)  # hosts not snapshotted for `stale_after`


STALE_AFTER = timedelta(days=1)


async def fleet_at_a_glance(store: Store, now: datetime, thresholds: Thresholds | None = None,
                            *, stale_after: timedelta = STALE_AFTER) -> GlanceResult:
    """Hosts whose latest snapshot is older than `stale_after` are listed as stale, not
    counted (a host removed from the inventory, or one that stopped answering)."""
    snapshots = await store.latest_snapshots()
    latest = [s for s in snapshots if s.at >= now - stale_after]
    hosts = host_statuses(latest, thresholds or Thresholds())
    proposed = await store.requests(states=frozenset({State.PROPOSED}))
    return GlanceResult(
        now=now,
        as_of=max((s.at for s in latest), default=None),
        hosts=hosts,
        clusters=cluster_counts(hosts),
        open_incidents=await store.active_alerts(),
        pending_approvals=[r for r in proposed if r.expires_at > now],
        stale=sorted(s.host for s in snapshots if s.at < now - stale_after),
    )
