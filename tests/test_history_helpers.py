"""Synthetic host reports and snapshots shared by the history tests (no tests here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.esx.records import (
    CartelHandles,
    EsxVersion,
    FdsWarning,
    FdsWarningSummary,
    HostdEvent,
    KernelSetting,
    LsofSummary,
    VmProcess,
)
from bot.esx.report import HostReport, build_report
from bot.history.records import Snapshot

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
LIMIT = 32768
U3H = EsxVersion("VMware ESXi", "8.0.3", 25067014, "3", "90")


def report(host: str, in_use: int, at: datetime, *, cluster: str = "c1",
           fds: int = 0, fds_last: datetime | None = None,
           hostd: list[HostdEvent] | None = None,
           setting: KernelSetting | None = None) -> HostReport:
    """A host whose VMs hold `in_use` CHAR handles in all (four VMs + a system cartel)."""
    per_vm = [in_use * 4 // 10, in_use * 3 // 10, in_use * 2 // 10]
    per_vm.append(in_use - sum(per_vm) - 100 if in_use > 200 else 0)
    cartels = {1000 + i: CartelHandles(1000 + i, n, n) for i, n in enumerate(per_vm)}
    cartels[1] = CartelHandles(1, in_use - sum(per_vm), 0)
    vms = [VmProcess(f"{host}-vm{i}", 2000 + i, 1000 + i) for i in range(len(per_vm))]
    summary = FdsWarningSummary()
    if fds:
        last = fds_last or at - timedelta(minutes=1)
        w = FdsWarning(last, 1, "WARNING: FDS: No free handles")
        summary = FdsWarningSummary(fds, w, w, {})
    return build_report(host, lsof=LsofSummary(cartels), vms=vms, setting=setting,
                        version=U3H, fds=summary, hostd_events=hostd or [], cluster=cluster,
                        now=at)


def snap(host: str, at: datetime, in_use: int, *, limit: int = LIMIT,
         configured: int | None = None, cluster: str | None = "c1", fds: int = 0) -> Snapshot:
    return Snapshot(host, cluster, at, in_use, limit, configured, fds_warnings=fds,
                    top_vms=[(f"{host}-vm0", in_use // 3)])


def pct(p: float, limit: int = LIMIT) -> int:
    """Handles for `p` % of the limit."""
    return round(limit * p / 100)
