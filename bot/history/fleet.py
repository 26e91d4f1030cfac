"""The fleet now, from each host's latest snapshot: risk per host, counts per cluster."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.assess import Risk, Thresholds
from bot.history.records import Snapshot

_ORDER = {Risk.CRITICAL: 0, Risk.WARNING: 1, Risk.OK: 2}


@dataclass(frozen=True)
class HostStatus:
    host: str
    cluster: str | None
    risk: Risk
    percent: float
    in_use: int
    runtime_limit: int
    configured_limit: int | None
    fds_warnings: int
    at: datetime

    @property
    def reboot_pending(self) -> bool:
        return self.configured_limit is not None and self.configured_limit > self.runtime_limit


@dataclass(frozen=True)
class ClusterCounts:
    cluster: str
    ok: int = 0
    warning: int = 0
    critical: int = 0

    @property
    def total(self) -> int:
        return self.ok + self.warning + self.critical


def snapshot_risk(s: Snapshot, thresholds: Thresholds) -> Risk:
    """As `bot.assess.risk_of`: by % of the runtime limit, and FDS warnings in the 24 h window
    make a host at least a warning."""
    if s.percent_used >= thresholds.critical_percent:
        return Risk.CRITICAL
    if s.fds_warnings or s.percent_used >= thresholds.warning_percent:
        return Risk.WARNING
    return Risk.OK


def host_statuses(latest: Iterable[Snapshot], thresholds: Thresholds) -> list[HostStatus]:
    """Riskiest first, then by % used, then by name."""
    rows = [HostStatus(s.host, s.cluster, snapshot_risk(s, thresholds), s.percent_used,
                       s.in_use, s.runtime_limit, s.configured_limit, s.fds_warnings, s.at)
            for s in latest]
    rows.sort(key=lambda h: (_ORDER[h.risk], -h.percent, h.host))
    return rows


def cluster_counts(hosts: Sequence[HostStatus]) -> list[ClusterCounts]:
    counts: dict[str, dict[Risk, int]] = {}
    for h in hosts:
        by_risk = counts.setdefault(h.cluster or "-", {r: 0 for r in Risk})
        by_risk[h.risk] += 1
    return [ClusterCounts(name, c[Risk.OK], c[Risk.WARNING], c[Risk.CRITICAL])
            for name, c in sorted(counts.items())]


class HostsByRisk:
    """What a summary and the App Home glance both say about their `hosts`."""

    hosts: list[HostStatus]

    @property
    def counts(self) -> dict[str, int]:
        return risk_counts(self.hosts)

    @property
    def reboot_pending(self) -> list[HostStatus]:
        return [h for h in self.hosts if h.reboot_pending]


def risk_counts(hosts: Sequence[HostStatus]) -> dict[str, int]:
    """{"ok": n, "warning": n, "critical": n}."""
    return {r.value: sum(1 for h in hosts if h.risk is r) for r in Risk}
