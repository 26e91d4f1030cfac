"""The managers' summary of a period: hosts by risk now (counts per cluster), incidents,
remediations done / pending / failed with who approved them, hosts whose reboot is pending,
and the chart. The chart is drawn here (a PNG, in a worker thread); everything else is data
that front ends render (console text, JSON, Slack blocks with the chart uploaded)."""

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
from bot.history.records import AlertRecord
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
    return SummaryResult(
        period=period, since=since, until=now, hosts=hosts, clusters=cluster_counts(hosts),
        incidents=await store.alerts(since, now),
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
