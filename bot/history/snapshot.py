"""From a scan's host reports to snapshots, and the retention setting."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from bot.esx.report import HostReport
from bot.history.records import TOP_VMS, Snapshot

DEFAULT_RETENTION = timedelta(days=35)  # covers `summary 30d`


def snapshot_of(report: HostReport, at: datetime | None = None) -> Snapshot:
    """The snapshot of one report, taken at `at` (default: when the report was collected)."""
    when = at or report.collected_at
    if when is None:
        raise ValueError(f"report for {report.host} has no collection time; pass `at`")
    restarts = [e for e in report.hostd_events if e.kind == "restart"]
    dumps = [e for e in report.hostd_events if e.kind == "coredump"]
    event_times = [e.time for e in report.hostd_events if e.time is not None]
    top = sorted((vm for vm in report.vms if vm.char_handles > 0),
                 key=lambda vm: (-vm.char_handles, vm.rank))[:TOP_VMS]
    return Snapshot(
        host=report.host,
        cluster=report.cluster,
        at=when,
        in_use=report.in_use,
        runtime_limit=report.limit.runtime,
        configured_limit=report.limit.configured,
        fds_warnings=report.fds.count,
        hostd_restarts=len(restarts),
        hostd_dumps=len(dumps),
        top_vms=[(vm.name or f"cartel {vm.cartel_id}", vm.char_handles) for vm in top],
        fds_last=report.fds.last.time if report.fds.last else None,
        hostd_last=max(event_times) if event_times else None,
    )


def snapshots_of(reports: Iterable[HostReport], at: datetime) -> list[Snapshot]:
    """One snapshot per report, all stamped `at` (the scan's time, so a scan is one instant)."""
    return [snapshot_of(r, at) for r in reports]


def retention_cutoff(now: datetime, retention: timedelta = DEFAULT_RETENTION) -> datetime:
    """Snapshots older than this are pruned."""
    if retention <= timedelta(0):
        raise ValueError("retention must be positive")
    return now - retention
