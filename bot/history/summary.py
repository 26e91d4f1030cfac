"""The managers' summary of a period: hosts by risk now (counts per cluster), incidents,
remediations done / pending / failed with who approved them, hosts whose reboot is pending,
the change against the previous period of the same length (`Comparison`: hosts at risk then
and now, incidents, handles freed by done remediations, the riskiest host's trend, and one
sentence: better or worse), and the chart. The chart is drawn here (a PNG, in a worker
thread); everything else is data that front ends render (console text, JSON, Slack blocks
with the chart uploaded)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.assess import Thresholds
from bot.esx.collect import ScanOutcome
from bot.esx.report import HostReport
from bot.history.chart import ChartPeriod, render_chart, select_hosts
from bot.history.fleet import (
    ClusterCounts,
    HostsByRisk,
    HostStatus,
    cluster_counts,
    host_statuses,
)
from bot.history.records import AlertRecord, Snapshot
from bot.history.snapshot import snapshots_of
from bot.store.api import FINAL, Request, State, Store

REQUEST_LIMIT = 1000  # requests looked at per summary (newest first)


@dataclass(frozen=True)
class Period:
    name: str  # the word: 24h, 7d, 30d
    length: timedelta
    label: str  # for titles: "last 24 hours"

    @property
    def chart(self) -> ChartPeriod:
        return ChartPeriod(self.label, self.length)


PERIODS: dict[str, Period] = {
    "24h": Period("24h", timedelta(hours=24), "last 24 hours"),
    "7d": Period("7d", timedelta(days=7), "last 7 days"),
    "30d": Period("30d", timedelta(days=30), "last 30 days"),
}
DEFAULT_PERIOD = "24h"


def parse_period(word: str | None) -> Period:
    """`24h` (default), `7d` or `30d`; ValueError with the choices otherwise."""
    key = (word or DEFAULT_PERIOD).strip().lower()
    key = {"1d": "24h", "day": "24h", "week": "7d", "month": "30d"}.get(key, key)
    if key not in PERIODS:
        raise ValueError(f"The period must be one of {', '.join(PERIODS)}.")
    return PERIODS[key]


@dataclass(frozen=True)
class RemediationLine:
    id: int
    kind: str
    target: str
    host: str
    state: str
    requested_by: str
    approved_by: str | None  # who approved (or rejected) it, from the request or the audit
    at: datetime  # last change
    outcome: str | None


@dataclass(frozen=True)
class Chart:
    png: bytes
    hosts: list[str]  # drawn
    omitted: list[str]


@dataclass(frozen=True)
class Comparison:
    """This period against the previous one of the same length (`None`: nothing stored)."""

    at_risk_then: int | None  # hosts at risk in each host's last snapshot of the previous period
    at_risk_now: int
    incidents_then: int
    incidents_now: int
    freed_then: int  # AIO handles held by the VMs moved or powered off by done remediations
    freed_now: int
    done_then: int
    done_now: int
    riskiest: str | None = None  # the riskiest host now
    riskiest_then: float | None = None  # its % of the limit at the end of the previous period
    riskiest_now: float | None = None

    @property
    def direction(self) -> str:
        """better | worse | same | unknown (no history before the period)."""
        if self.at_risk_then is None:
            return "unknown"
        score = _sign(self.at_risk_now - self.at_risk_then) * 2
        score += _sign(self.incidents_now - self.incidents_then)
        if self.riskiest_then is not None and self.riskiest_now is not None:
            delta = self.riskiest_now - self.riskiest_then
            score += _sign(delta) if abs(delta) >= TREND_POINTS else 0
        return "worse" if score > 0 else "better" if score < 0 else "same"

    def sentence(self, label: str) -> str:
        """One sentence: better or worse than the previous `label`, and why."""
        before = label.replace("last ", "previous ")
        if self.at_risk_then is None:
            return (f"Nothing was stored for the {before} to compare with: "
                    f"{_hosts(self.at_risk_now)} at risk now.")
        opening = {"better": f"Better than the {before}",
                   "worse": f"Worse than the {before}",
                   "same": f"About the same as the {before}"}[self.direction]
        parts = [f"{_hosts(self.at_risk_now)} at risk (was {self.at_risk_then})",
                 f"{_count(self.incidents_now, 'incident')} (was {self.incidents_then})"]
        if self.freed_now or self.freed_then:
            parts.append(f"{self.freed_now:,} handles freed by "
                         f"{_count(self.done_now, 'remediation')} (was {self.freed_then:,})")
        trend = self.trend()
        if trend:
            parts.append(trend)
        return f"{opening}: " + ", ".join(parts) + "."

    def trend(self) -> str | None:
        """`host01 86% → 97%` for the riskiest host, when it was seen in both periods."""
        if self.riskiest is None or self.riskiest_now is None:
            return None
        if self.riskiest_then is None:
            return f"riskiest {self.riskiest} at {self.riskiest_now:.0f}%"
        return (f"riskiest {self.riskiest} {self.riskiest_then:.0f}% → "
                f"{self.riskiest_now:.0f}%")


TREND_POINTS = 1.0  # the riskiest host moved at least this many points: a change


@dataclass(frozen=True)
class SummaryResult(HostsByRisk):
    """`summary [24h|7d|30d]`."""

    period: Period
    since: datetime
    until: datetime
    hosts: list[HostStatus]  # latest snapshot per host seen in the period, riskiest first
    clusters: list[ClusterCounts]
    incidents: list[AlertRecord]  # overlapping the period, oldest first
    done: list[RemediationLine]
    pending: list[RemediationLine]
    failed: list[RemediationLine]
    closed: list[RemediationLine]  # rejected, expired or cancelled in the period
    chart: Chart
    snapshot_count: int  # snapshots in the period (what the chart is drawn from)
    scanned_now: bool = False  # the store had no snapshots: the fleet was scanned now
    simulated: bool = False  # the history was synthesised (demo)
    stale: list[str] = field(default_factory=list)  # hosts last seen before the period
    unreachable: list[str] = field(default_factory=list)  # failed the scan made now
    review: list[RemediationLine] = field(default_factory=list)  # interrupted: check hosts
    comparison: Comparison | None = None  # against the previous period of the same length

    @property
    def open_incidents(self) -> list[AlertRecord]:
        return [a for a in self.incidents if a.resolved_at is None]


Scan = Callable[[], Awaitable[Sequence[ScanOutcome]]]


async def build_summary(store: Store, thresholds: Thresholds, period: Period, now: datetime,
                        *, scan: Scan | None = None, simulated: bool = False) -> SummaryResult:
    """The summary of `period` ending `now`, from the store. When the store holds no
    snapshot taken in the period and `scan` is given, the fleet is scanned now and the
    snapshots stored first."""
    since = now - period.length
    latest = await store.latest_snapshots()
    current = [s for s in latest if s.at >= since]
    stale = sorted(s.host for s in latest if s.at < since)
    scanned_now = False
    unreachable: list[str] = []
    if not current and scan is not None:
        outcomes = await scan()
        reports = [o for o in outcomes if isinstance(o, HostReport)]
        unreachable = sorted(o.host for o in outcomes if not isinstance(o, HostReport))
        current = snapshots_of(reports, now)
        await store.add_snapshots(current)
        stale = sorted(set(stale) - {s.host for s in current})
        scanned_now = True
    hosts = host_statuses(current, thresholds)
    history = await store.snapshots(since=since, until=now)
    selection = select_hosts(history)
    note = "simulated history" if simulated else None
    # matplotlib is seconds of CPU on a first call (import, fonts): never on the event loop
    png = await asyncio.to_thread(render_chart, history, thresholds, period.chart, until=now,
                                  note=note)
    lines = await _remediations(store, since)
    incidents = await store.alerts(since, now)
    comparison = await compare(store, thresholds, since, now, hosts, len(incidents))
    return SummaryResult(
        period=period, since=since, until=now, hosts=hosts, clusters=cluster_counts(hosts),
        incidents=incidents, comparison=comparison,
        done=[r for r in lines if r.state == State.SUCCEEDED.value],
        pending=[r for r in lines if r.state not in {s.value for s in FINAL}],
        failed=[r for r in lines if r.state == State.FAILED.value],
        review=[r for r in lines if r.state == State.INTERRUPTED.value],
        closed=[r for r in lines if r.state in {State.REJECTED.value, State.EXPIRED.value,
                                                State.CANCELLED.value}],
        chart=Chart(png, selection.hosts, selection.omitted),
        snapshot_count=len(history), scanned_now=scanned_now, simulated=simulated,
        stale=stale, unreachable=unreachable,
    )


async def compare(store: Store, thresholds: Thresholds, since: datetime, now: datetime,
                  hosts: Sequence[HostStatus], incidents_now: int) -> Comparison:
    """This period [since, now] against [since - length, since)."""
    before = since - (now - since)
    previous = _latest_per_host(await store.snapshots(since=before, until=since))
    previous = [s for s in previous if s.at < since]
    then = host_statuses(previous, thresholds)
    incidents_then = [a for a in await store.alerts(before, since) if a.opened_at < since]
    freed_now, done_now = await _freed(store, since, now)
    freed_then, done_then = await _freed(store, before, since)
    riskiest = hosts[0] if hosts else None
    was = next((h.percent for h in then if riskiest and h.host == riskiest.host), None)
    return Comparison(
        at_risk_then=sum(h.risk.value != "ok" for h in then) if then else None,
        at_risk_now=sum(h.risk.value != "ok" for h in hosts),
        incidents_then=len(incidents_then), incidents_now=incidents_now,
        freed_then=freed_then, freed_now=freed_now, done_then=done_then, done_now=done_now,
        riskiest=riskiest.host if riskiest else None, riskiest_then=was,
        riskiest_now=riskiest.percent if riskiest else None)


def _latest_per_host(snapshots: Sequence[Snapshot]) -> list[Snapshot]:
    latest: dict[str, Snapshot] = {}
    for s in snapshots:
        if s.host not in latest or s.at >= latest[s.host].at:
            latest[s.host] = s
    return list(latest.values())


async def _freed(store: Store, since: datetime, until: datetime) -> tuple[int, int]:
    """Handles held by the VMs that remediations done in [since, until) moved or powered
    off (as their plans recorded them), and how many remediations were done."""
    done = [r for r in await store.requests(states=frozenset({State.SUCCEEDED}),
                                            limit=REQUEST_LIMIT)
            if since <= r.updated_at < until]
    freed = 0
    for r in done:
        steps = (r.params.get("plan") or {}).get("steps") or []
        freed += sum(int(step.get("handles") or 0) for step in steps
                     if isinstance(step, dict) and step.get("vm"))
    return freed, len(done)


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _hosts(n: int) -> str:
    return f"{n} host{'' if n == 1 else 's'}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


async def _remediations(store: Store, since: datetime) -> list[RemediationLine]:
    """Requests still open, and those that ended in the period; who approved them comes from
    the request, else from its audit trail (the `approved` or `rejected` entry's actor)."""
    requests = await store.requests(limit=REQUEST_LIMIT)
    chosen = [r for r in requests if r.state not in FINAL or r.updated_at >= since]
    return [RemediationLine(r.id, r.kind, r.target, r.host, r.state.value, r.requested_by,
                            r.approved_by or await _decider(store, r), r.updated_at, r.outcome)
            for r in chosen]


async def _decider(store: Store, request: Request) -> str | None:
    if request.state in (State.PROPOSED, State.EXPIRED):
        return None
    for entry in reversed(await store.audit_trail(request_id=request.id)):
        if entry.event in (State.APPROVED.value, State.REJECTED.value, State.CANCELLED.value):
            return entry.actor
    return None
